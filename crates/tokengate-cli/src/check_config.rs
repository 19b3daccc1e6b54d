//! `tokengate check-config`: a configuration file read as the services read it, every problem
//! reported with its key; online, what discovery and the first key fetch find per issuer.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use tokengate::{Verifier, health::KeysState};
use tokengate_config::Config;

/// How long the online check waits for every issuer's discovery and keys.
const ONLINE_TIMEOUT: Duration = Duration::from_secs(20);

pub(crate) fn run(file: &Path, online: bool, ignore_env: bool) -> ExitCode {
    if !file.is_file() {
        eprintln!("tokengate: {}: no such file", file.display());
        return ExitCode::from(2);
    }
    let loaded = if ignore_env {
        Config::from_file_only(file)
    } else {
        Config::from_file(file)
    };
    let config = match loaded {
        Ok(config) => config,
        Err(problems) => return report_problems(file, problems),
    };
    // The verifier is built as a service builds it (a shared store's connection lives in the
    // runtime); nothing is fetched unless --online.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("tokengate: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        let verifier = match config.verifier() {
            Ok(verifier) => verifier,
            Err(problems) => return report_problems(file, problems),
        };
        println!("{}: valid", file.display());
        for (at, path) in config.exposed_secret_files() {
            println!(
                "  warning: {at}: {} is readable by group or others (chmod 600 it)",
                path.display()
            );
        }
        if !online {
            for issuer in verifier.issuers() {
                println!("  issuer {issuer}");
            }
            print_metadata(&verifier);
            return ExitCode::SUCCESS;
        }
        let ready = tokio::time::timeout(ONLINE_TIMEOUT, verifier.ready()).await;
        let mut all_usable = matches!(ready, Ok(Ok(())));
        for health in verifier.health() {
            println!("  issuer {}", health.issuer);
            let algorithms: Vec<&str> = health.algorithms.iter().map(|a| a.as_str()).collect();
            let state = match health.state {
                KeysState::Static => "static",
                KeysState::Fresh => "fetched",
                KeysState::Stale => "stale",
                KeysState::Failing => "unavailable",
                _ => "unknown",
            };
            println!(
                "    keys: {} {state}, algorithms: {}",
                health.key_count,
                if algorithms.is_empty() {
                    "none".to_owned()
                } else {
                    algorithms.join(", ")
                }
            );
            if health.state == KeysState::Failing || health.key_count == 0 {
                all_usable = false;
            }
            if let Some(why) = &health.last_failure_message {
                println!("    problem: {why}");
            }
            if let Some(introspection) = &health.introspection {
                println!("    introspection: {}", introspection.endpoint);
                if let Some(why) = &introspection.last_failure_message {
                    println!("    introspection problem: {why}");
                }
            }
        }
        if ready.is_err() {
            println!("  problem: discovery and keys took longer than {ONLINE_TIMEOUT:?}");
        }
        print_metadata(&verifier);
        if all_usable {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    })
}

fn report_problems(file: &Path, problems: tokengate_config::Problems) -> ExitCode {
    eprintln!(
        "{}: {} problem{}",
        file.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for problem in problems {
        eprintln!("  {problem}");
    }
    ExitCode::from(1)
}

fn print_metadata(verifier: &Verifier) {
    if let Some((path, response)) = verifier.resource_metadata() {
        println!("  metadata at {path}:");
        println!("    {}", String::from_utf8_lossy(response.body()));
    }
}
