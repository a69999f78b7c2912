//! moto, the AWS stand-in, over HTTPS on loopback with signature checking on,
//! seeded by `tests/e2e/seed.py`; and the real AWS CLI and boto3 as agents.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use tempfile::TempDir;

use super::gateway::{Gateway, cli};

/// The project's Python venv (made by `scripts/setup-python.sh`).
pub fn venv_bin(tool: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin").join(tool);
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup-python.sh (scripts/test does)",
        path.display()
    );
    path
}

/// A running, seeded moto; stopped when dropped.
pub struct Moto {
    wrapper: Child,
    moto_pid: u32,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The CA that signed its certificate (for clawgate's `upstream_ca`).
    pub ca: PathBuf,
    /// The base key clawgate signs AssumeRole with.
    pub base_key_id: String,
    /// Its secret.
    pub base_secret: String,
    /// moto's own log.
    pub log: PathBuf,
    _dir: TempDir,
}

impl Moto {
    /// Starts moto with certificates for the AWS hosts the tests use, and seeds it.
    pub fn start() -> Moto {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut wrapper = Command::new(venv_bin("python"))
            .arg(root.join("tests/e2e/moto_tls.py"))
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(wrapper.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let started: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("moto did not start: {e}: {line:?}"));
        let port = started["port"].as_u64().unwrap() as u16;
        let ca = PathBuf::from(started["ca"].as_str().unwrap());
        let seed = Command::new(venv_bin("python"))
            .arg(root.join("tests/e2e/seed.py"))
            .args(["--endpoint", &format!("https://127.0.0.1:{port}"), "--ca"])
            .arg(&ca)
            .output()
            .unwrap();
        assert!(
            seed.status.success(),
            "seeding failed: {}",
            String::from_utf8_lossy(&seed.stderr)
        );
        let key: serde_json::Value = serde_json::from_slice(&seed.stdout).unwrap();
        Moto {
            wrapper,
            moto_pid: started["pid"].as_u64().unwrap() as u32,
            port,
            ca,
            base_key_id: key["access_key_id"].as_str().unwrap().to_string(),
            base_secret: key["secret_access_key"].as_str().unwrap().to_string(),
            log: dir.path().join("moto.stderr"),
            _dir: dir,
        }
    }
}

impl Moto {
    /// How many requests moto has answered so far (Werkzeug logs one line each).
    pub fn requests_served(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|line| line.contains(" HTTP/1.1\" "))
            .count()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.moto_pid.to_string())
            .status();
        let _ = self.wrapper.kill();
        let _ = self.wrapper.wait();
        if std::thread::panicking() {
            eprintln!(
                "---- moto log ----\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

/// An agent's environment: clawgate as proxy, its CA, and AWS profiles from
/// `clawgate profiles` with placeholder keys. Nothing of the machine's own
/// AWS or proxy settings leaks in.
pub struct AgentEnv {
    vars: Vec<(String, String)>,
    /// Every byte the agent's commands printed, for the secret scan.
    pub transcript: std::sync::Mutex<String>,
    _dir: TempDir,
}

impl AgentEnv {
    /// An environment for agents of the clawgate at `proxy_url` trusting
    /// `ca_pem`, with profiles `profiles` (the output of `clawgate profiles`).
    pub fn new(proxy_url: &str, ca_pem: &Path, profiles: &str) -> AgentEnv {
        let dir = tempfile::tempdir().unwrap();
        let (config, credentials) = profiles.split_once("# ~/.aws/credentials").unwrap();
        // The marker line is a comment; the credentials start on the next line.
        let credentials = credentials.split_once('\n').map_or("", |(_, rest)| rest);
        std::fs::write(dir.path().join("config"), config).unwrap();
        std::fs::write(dir.path().join("credentials"), credentials).unwrap();
        let mut extra = String::from("\n[profile unlisted]\nregion = us-east-1\n");
        extra.push_str(&format!("ca_bundle = {}\n", ca_pem.display()));
        std::fs::write(dir.path().join("config"), format!("{config}{extra}")).unwrap();
        std::fs::write(
            dir.path().join("credentials"),
            format!("{credentials}\n[unlisted]\naws_access_key_id = AKIA333333333333CLAW\naws_secret_access_key = x\n"),
        )
        .unwrap();
        let path = |name: &str| dir.path().join(name).display().to_string();
        let ca = ca_pem.display().to_string();
        let vars = vec![
            ("HTTPS_PROXY".to_string(), proxy_url.to_string()),
            ("HTTP_PROXY".to_string(), proxy_url.to_string()),
            ("AWS_CA_BUNDLE".to_string(), ca.clone()),
            ("REQUESTS_CA_BUNDLE".to_string(), ca),
            ("AWS_CONFIG_FILE".to_string(), path("config")),
            ("AWS_SHARED_CREDENTIALS_FILE".to_string(), path("credentials")),
            ("AWS_EC2_METADATA_DISABLED".to_string(), "true".to_string()),
            ("AWS_MAX_ATTEMPTS".to_string(), "2".to_string()),
            ("HOME".to_string(), dir.path().display().to_string()),
        ];
        AgentEnv {
            vars,
            transcript: std::sync::Mutex::new(String::new()),
            _dir: dir,
        }
    }

    /// Runs `program` (from the venv) with `args` as the agent.
    pub fn run(&self, program: &str, args: &[&str]) -> Output {
        let mut command = Command::new(venv_bin(program));
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in &self.vars {
            command.env(k, v);
        }
        let output = command.output().unwrap();
        let mut transcript = self.transcript.lock().unwrap();
        transcript.push_str(&String::from_utf8_lossy(&output.stdout));
        transcript.push_str(&String::from_utf8_lossy(&output.stderr));
        output
    }

    /// `aws ARGS…`, which must succeed; its standard output.
    pub fn aws_ok(&self, args: &[&str]) -> String {
        let output = self.run("aws", args);
        assert!(
            output.status.success(),
            "aws {} failed:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `aws ARGS…`, which must fail; its standard error.
    pub fn aws_err(&self, args: &[&str]) -> String {
        let output = self.run("aws", args);
        assert!(!output.status.success(), "aws {} should have failed", args.join(" "));
        String::from_utf8_lossy(&output.stderr).into_owned()
    }
}

/// The environment of an agent of `gateway`, its profiles written by `clawgate profiles`.
pub fn agent_for(gateway: &Gateway) -> AgentEnv {
    let ca_dir = gateway.ca_pem.parent().unwrap().to_str().unwrap();
    let rules = gateway.rules.to_str().unwrap();
    let (ok, profiles, err) = cli(&["profiles", "--rules", rules, "--ca-dir", ca_dir]);
    assert!(ok, "{err}");
    AgentEnv::new(&gateway.proxy_url(), &gateway.ca_pem, &profiles)
}
