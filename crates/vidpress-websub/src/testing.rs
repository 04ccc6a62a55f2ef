//! A real WebSub hub for tests: starts `tests/support/websub_hub.py` (flask-websub) from the
//! repository's `.venv` on 127.0.0.1 and stops it when dropped. Enabled by the `test-support`
//! feature; `scripts/python-tools.sh` installs the hub.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use url::Url;

/// How long the hub may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Settings for a test hub.
#[derive(Debug, Clone)]
pub struct HubOptions {
    /// The shortest lease the hub grants (it raises shorter requests to this).
    pub min_lease_seconds: u64,
    /// The algorithm it signs notifications with: `sha1` (YouTube's) or a SHA-2 name.
    pub signature: &'static str,
}

impl Default for HubOptions {
    fn default() -> Self {
        Self {
            min_lease_seconds: 60,
            signature: "sha1",
        }
    }
}

/// A running flask-websub hub; killed on drop.
#[derive(Debug)]
pub struct TestHub {
    child: Child,
    url: Url,
    _dir: tempfile::TempDir,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl TestHub {
    /// Starts a hub. Panics with the setup command when the hub is not installed: tests that
    /// need it must fail, not skip.
    pub fn start(options: &HubOptions) -> TestHub {
        let root = repo_root();
        let python = root.join(".venv/bin/python");
        let script = root.join("tests/support/websub_hub.py");
        let installed = Command::new(&python)
            .args(["-c", "import flask_websub, celery"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            installed,
            "the test WebSub hub (flask-websub) is not installed in {}: run `bash scripts/python-tools.sh`",
            python.display()
        );
        let dir = tempfile::tempdir().expect("create a directory for the hub's database");
        let mut child = Command::new(&python)
            .arg(&script)
            .args(["--port", "0", "--db"])
            .arg(dir.path().join("hub.sqlite3"))
            .args(["--min-lease", &options.min_lease_seconds.to_string()])
            .args(["--signature", options.signature])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", script.display()));
        let stdout = child.stdout.take().expect("the hub's stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep draining so the hub never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("the test WebSub hub did not report READY within {START_TIMEOUT:?}");
            }
        };
        let url = line
            .strip_prefix("READY ")
            .and_then(|u| Url::parse(u.trim()).ok())
            .unwrap_or_else(|| panic!("unexpected first line from the test hub: {line:?}"));
        TestHub {
            child,
            url,
            _dir: dir,
        }
    }

    /// The hub's endpoint, `http://127.0.0.1:PORT/hub`.
    pub fn url(&self) -> &Url {
        &self.url
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
