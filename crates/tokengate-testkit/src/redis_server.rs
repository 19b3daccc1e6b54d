//! A real `redis-server` for tests of services that share state through Redis
//! (`tokengate-redis`): started on a free loopback port in a temporary directory, stopped on
//! drop. Needs `redis-server` (or `valkey-server`) on the `PATH`; without one,
//! [`RedisServer::start_or_skip`] prints one line and the test skips — unless
//! `TOKENGATE_REQUIRE_REDIS=1` (set by `.ci/run`, which installs Redis), where its absence fails.
//!
//! ```no_run
//! let Some(redis) = tokengate_testkit::redis_server::RedisServer::start_or_skip() else {
//!     return; // "skipped: no redis-server on the PATH"
//! };
//! let url = redis.url(); // redis://127.0.0.1:<port>/0
//! # let _ = url;
//! ```

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server` child process.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// A started server, or `None` after printing one line when neither `redis-server` nor
    /// `valkey-server` is on the `PATH` (a machine without Redis skips the test).
    ///
    /// # Panics
    /// When no server program is found and `TOKENGATE_REQUIRE_REDIS=1` (CI installs Redis and
    /// sets it, so a missing install fails there), or as [`start`](RedisServer::start).
    #[must_use]
    pub fn start_or_skip() -> Option<RedisServer> {
        if program().is_some() {
            return Some(RedisServer::start());
        }
        let required = std::env::var("TOKENGATE_REQUIRE_REDIS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "TOKENGATE_REQUIRE_REDIS=1 but neither redis-server nor valkey-server is on the PATH"
        );
        eprintln!(
            "skipped: no redis-server (or valkey-server) on the PATH; install one to run this \
             test (TOKENGATE_REQUIRE_REDIS=1 makes its absence a failure)"
        );
        None
    }

    /// Starts a server and waits until it accepts connections.
    ///
    /// # Panics
    /// When neither `redis-server` nor `valkey-server` can be started, or it does not accept
    /// connections within 10 s.
    pub fn start() -> RedisServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let dir =
            std::env::temp_dir().join(format!("tokengate-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let mut server = RedisServer {
            child: None,
            port,
            dir,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let program = program()
            .expect("redis-server (or valkey-server) must be installed: .ci/run installs it");
        let child = Command::new(program)
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir.to_str().expect("a UTF-8 path"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        self.child = Some(child);
        // Readiness, not a timing assumption: poll until it accepts, for at most 10 s.
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Its URL.
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The port it listens on (127.0.0.1).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (for failure tests).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The server program on the `PATH`: `redis-server`, else `valkey-server`.
fn program() -> Option<&'static str> {
    ["redis-server", "valkey-server"].into_iter().find(|p| {
        Command::new(p)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok()
    })
}
