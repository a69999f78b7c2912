//! The real `clawgate` binary, run as agents meet it: a child process with a
//! rule directory and a CA of its own, on ephemeral ports.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tempfile::TempDir;

/// A running clawgate; killed when dropped.
pub struct Gateway {
    child: Child,
    /// Where agents connect.
    pub proxy: SocketAddr,
    /// The admin server.
    pub admin: SocketAddr,
    /// The rule directory.
    pub rules: PathBuf,
    /// clawgate's CA certificate (PEM), which agents trust.
    pub ca_pem: PathBuf,
    /// The admin API token, printed once at first run.
    pub admin_token: String,
    /// The audit log.
    pub audit_log: PathBuf,
    stderr: PathBuf,
    _dir: TempDir,
}

/// The path of the built `clawgate` binary.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_clawgate")
}

impl Gateway {
    /// Starts clawgate with `rules` as its only rule file.
    pub fn start(rules: &str) -> Gateway {
        Gateway::start_with(rules, |_| {})
    }

    /// Starts clawgate after `prepare` has had a chance to add to the rule directory.
    pub fn start_with(rules: &str, prepare: impl FnOnce(&Path)) -> Gateway {
        Gateway::launch(Command::new(binary()), rules, prepare)
    }

    /// Starts clawgate with `rules`, allowed at most `files` open files
    /// (through util-linux's `prlimit`, which then runs clawgate itself).
    pub fn start_with_file_limit(rules: &str, files: usize) -> Gateway {
        let mut command = Command::new("prlimit");
        command.arg(format!("--nofile={files}:{files}")).arg(binary());
        Gateway::launch(command, rules, |_| {})
    }

    fn launch(mut command: Command, rules: &str, prepare: impl FnOnce(&Path)) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let rules_dir = dir.path().join("rules");
        std::fs::create_dir(&rules_dir).unwrap();
        std::fs::write(rules_dir.join("main.hcl"), rules).unwrap();
        prepare(&rules_dir);
        let ca_dir = dir.path().join("certs");
        let stderr = dir.path().join("clawgate.log");
        let audit_log = dir.path().join("audit").join("audit.jsonl");
        let mut child = command
            .args(["run", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--rules"])
            .arg(&rules_dir)
            .arg("--ca-dir")
            .arg(&ca_dir)
            .arg("--audit-log")
            .arg(&audit_log)
            .env("RUST_LOG", "clawgate=debug,info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let (mut proxy, mut admin, mut admin_token) = (None, None, None);
        while proxy.is_none() || admin.is_none() {
            let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else {
                let log = std::fs::read_to_string(&stderr).unwrap_or_default();
                panic!("clawgate did not start; its log:\n{log}");
            };
            if let Some(url) = line.strip_prefix("export HTTPS_PROXY=http://") {
                proxy = Some(url.rsplit('@').next().unwrap().parse().unwrap());
            }
            if let Some(token) = line.split("keeps only its hash): ").nth(1) {
                admin_token = Some(token.trim().to_string());
            }
            if let Some(rest) = line.split("admin on http://").nth(1) {
                admin = Some(rest.trim().parse().unwrap());
            }
        }
        Gateway {
            child,
            proxy: proxy.unwrap(),
            admin: admin.unwrap(),
            rules: rules_dir,
            ca_pem: ca_dir.join("ca.pem"),
            admin_token: admin_token.expect("clawgate prints its admin token on first run"),
            audit_log,
            stderr,
            _dir: dir,
        }
    }

    /// The audit records written so far, one JSON value per line.
    pub fn audit_records(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.audit_log)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("audit line `{line}`: {e}")))
            .collect()
    }

    /// The proxy URL without credentials.
    pub fn proxy_url(&self) -> String {
        format!("http://{}", self.proxy)
    }

    /// clawgate's CA certificate, PEM.
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(&self.ca_pem).unwrap()
    }

    /// Everything clawgate logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's peak resident memory, in bytes (`VmHWM`).
    pub fn peak_memory(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib * 1024
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Sends SIGHUP: reload the rules.
    pub fn hangup(&self) {
        let status = Command::new("kill")
            .arg("-HUP")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "clawgate did not exit; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("---- clawgate log ----\n{}", self.log());
        }
    }
}

/// Runs the `clawgate` binary with `args` to completion: (success, stdout, stderr).
pub fn cli(args: &[&str]) -> (bool, String, String) {
    let mut child = Command::new(binary())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    let mut err = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (child.wait().unwrap().success(), out, err)
}
