//! Replays every fuzz target on stable, in `cargo test`: the seeds made with the fixed keys
//! (each must be accepted or refused as labelled, so no oracle is vacuous), the committed
//! corpora (`fuzz/corpus/<target>/`) and the regression inputs (`fuzz/regressions/<target>/`,
//! inputs that once found a defect: each must be refused, without a panic). An oracle
//! violation panics with the input's file name.
//!
//! `TOKENGATE_FUZZ_WRITE_SEEDS=1 cargo test -p tokengate-fuzz` (re)writes the seeds into the
//! corpora.

use std::path::{Path, PathBuf};

use tokengate_fuzz::{TARGETS, seeds};

fn dir(kind: &str, target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(kind)
        .join(target)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn seeds_are_accepted_or_refused_as_labelled() {
    let write = std::env::var_os("TOKENGATE_FUZZ_WRITE_SEEDS").is_some();
    for (target, run) in TARGETS {
        let seeds = seeds(target);
        assert!(!seeds.is_empty(), "{target} has seeds");
        for (index, (input, expected)) in seeds.iter().enumerate() {
            assert_eq!(
                run(input),
                *expected,
                "{target} seed {index}: {}",
                String::from_utf8_lossy(input)
            );
            if write {
                let corpus = dir("corpus", target);
                std::fs::create_dir_all(&corpus).unwrap();
                std::fs::write(corpus.join(format!("seed-{index}")), input).unwrap();
            }
        }
    }
}

#[test]
fn committed_corpora_and_regressions_replay() {
    let mut replayed = 0;
    for (target, run) in TARGETS {
        for kind in ["corpus", "regressions"] {
            for file in files(&dir(kind, target)) {
                let input = std::fs::read(&file).unwrap();
                let outcome = std::panic::catch_unwind(|| run(&input));
                let Ok(accepted) = outcome else {
                    panic!("{} broke its oracle", file.display());
                };
                assert!(
                    kind == "corpus" || !accepted,
                    "{} is a regression input and was accepted",
                    file.display()
                );
                replayed += 1;
            }
        }
    }
    assert!(
        replayed >= TARGETS.len(),
        "the corpora are committed ({replayed} inputs)"
    );
}
