//! Shared helpers: the EC2 emulator process, layouts built in it, running
//! the tgw-vip binary against it, and reading routes back.
//!
//! Everything here talks to 127.0.0.1 only. A missing prerequisite fails
//! the test with the command that installs it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Repository root, where tests/emulator lives.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> String {
    std::env::var("TGW_VIP_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

const INSTALL_HINT: &str =
    "install the emulator's packages with: python3 -m pip install -r tests/emulator/requirements.txt";

/// A running emulator, stopped when dropped.
pub struct Emulator {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Emulator {
    pub fn start() -> Emulator {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let ready = dir.path().join("ready.json");
        let child = Command::new(python())
            .arg(root().join("tests/emulator/emulator.py"))
            .args(["--port", "0", "--exit-on-stdin-eof", "--ready-file"])
            .arg(&ready)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}; {INSTALL_HINT}", python()));
        let mut emulator = Emulator {
            child,
            port: 0,
            dir,
        };
        emulator.port = emulator.wait_ready(&ready);
        emulator
    }

    fn wait_ready(&mut self, ready: &Path) -> u16 {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if let Ok(text) = std::fs::read_to_string(ready) {
                let value: Value = serde_json::from_str(&text).expect("ready file is JSON");
                return value["port"].as_u64().expect("ready file has a port") as u16;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                panic!("the emulator exited with {status} before it was ready:\n{stderr}\n{INSTALL_HINT}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the emulator was not ready within 60 s; {INSTALL_HINT}");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Builds a layout with tests/emulator/topology.py and returns its files.
    pub fn build(&self, layout: &str, extra: &[&str]) -> Layout {
        let out = self
            .dir
            .path()
            .join(format!("layout-{}", fastrand_suffix()));
        let output = Command::new(python())
            .arg(root().join("tests/emulator/topology.py"))
            .args(["--endpoint", &self.url(), "--layout", layout, "--out"])
            .arg(&out)
            .args(extra)
            .output()
            .expect("run topology.py");
        assert!(
            output.status.success(),
            "topology.py failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let ids: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("ids.json")).unwrap()).unwrap();
        Layout {
            conf: out.join("tgw.conf"),
            dir: out,
            ids,
        }
    }

    /// Sends one request to the control path and returns the JSON response.
    pub fn control(&self, method: &str, path: &str, body: &str) -> Value {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to emulator");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (_, body) = response.split_once("\r\n\r\n").expect("HTTP response");
        serde_json::from_str(body).unwrap_or(Value::Null)
    }

    pub fn counters(&self) -> Value {
        self.control("GET", "/_emulator/counters", "")
    }

    pub fn reset_counters(&self) {
        self.control("POST", "/_emulator/counters/reset", "");
    }

    pub fn writes(&self) -> u64 {
        self.counters()["writes"].as_u64().expect("writes counter")
    }

    pub fn faults(&self, json: &str) {
        self.control("POST", "/_emulator/faults", json);
    }

    /// Runs an `aws ec2` call against the emulator and returns its JSON
    /// output, for calls that create something the test needs the id of.
    pub fn aws_json(&self, region: &str, args: &[&str]) -> Value {
        let output = Command::new("aws")
            .args(["ec2", "--endpoint-url", &self.url(), "--region", region])
            .args(["--output", "json"])
            .args(args)
            .envs(test_env())
            .output()
            .unwrap_or_else(|err| panic!("cannot run aws: {err}; {INSTALL_HINT}"));
        assert!(
            output.status.success(),
            "aws ec2 {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or(Value::Null)
    }

    /// Runs an `aws ec2` call against the emulator, as an operator would
    /// change a route behind tgw-vip's back.
    pub fn aws(&self, region: &str, args: &[&str]) {
        let output = Command::new("aws")
            .args(["ec2", "--endpoint-url", &self.url(), "--region", region])
            .args(args)
            .envs(test_env())
            .output()
            .unwrap_or_else(|err| panic!("cannot run aws: {err}; {INSTALL_HINT}"));
        assert!(
            output.status.success(),
            "aws ec2 {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fastrand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed).to_string()
}

/// A layout built in the emulator: its tgw.conf and every id by role.
pub struct Layout {
    pub dir: PathBuf,
    pub conf: PathBuf,
    pub ids: Value,
}

impl Layout {
    pub fn server(&self, name: &str) -> &Value {
        &self.ids["servers"][name]
    }

    pub fn gateway_in(&self, region: &str) -> (String, String) {
        let entry = &self.ids["regions"][region];
        (
            entry["tgw"].as_str().unwrap().to_string(),
            entry["tgw_route_table"].as_str().unwrap().to_string(),
        )
    }

    /// Appends YAML to the layout's tgw.conf.
    pub fn append_config(&self, yaml: &str) {
        let mut text = std::fs::read_to_string(&self.conf).unwrap();
        text.push_str(yaml);
        std::fs::write(&self.conf, text).unwrap();
    }
}

/// Static test credentials and no metadata lookups.
pub fn test_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config".to_string()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials".to_string(),
        ),
        ("LANG", "C".to_string()),
    ]
}

/// The result of one tgw-vip run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs tgw-vip against the emulator with `args` after the common options.
pub fn tgw_vip(emulator: &Emulator, conf: &Path, args: &[&str]) -> Run {
    tgw_vip_env(emulator, conf, args, &[])
}

pub fn tgw_vip_env(emulator: &Emulator, conf: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut full = vec!["--vip", "172.16.0.1"];
    full.extend_from_slice(args);
    tgw_vip_no_vip(emulator, conf, &full, env)
}

/// Runs tgw-vip without the default `--vip`, so the VIPs come from `args`
/// or from the config's `vips` list.
pub fn tgw_vip_no_vip(
    emulator: &Emulator,
    conf: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let mut command = tgw_vip_command();
    command
        .arg("-c")
        .arg(native_path(conf))
        .args(args)
        .env("AWS_ENDPOINT_URL", emulator.url());
    for (key, value) in env {
        command.env(key, value);
    }
    run(command)
}

/// Runs a prepared command and collects its exit code and output.
pub fn run(mut command: Command) -> Run {
    Run::from(command.output().expect("run tgw-vip"))
}

/// Which build of tgw-vip a test crate runs.
#[allow(dead_code)]
pub enum Target {
    /// The binary built for this machine.
    Native,
    /// tgw-vip.exe under Wine, staged by scripts/test-windows.
    Wine,
}

/// Builds a command that starts tgw-vip with a clean environment: the PATH,
/// the static test credentials and, under Wine, the variables Wine needs.
pub fn tgw_vip_command() -> Command {
    let mut command = match crate::TARGET {
        Target::Native => Command::new(env!("CARGO_BIN_EXE_tgw-vip")),
        Target::Wine => {
            wine::boot();
            let mut wine = Command::new(wine::program());
            wine.arg(wine::exe());
            wine
        }
    };
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(test_env());
    if let Target::Wine = crate::TARGET {
        command.envs(wine::env());
    }
    command
}

/// Returns the path as the tested build expects it: unchanged for the
/// native binary, and a `Z:\` path with backslashes under Wine, as a
/// Windows operator would write it.
pub fn native_path(path: &Path) -> String {
    match crate::TARGET {
        Target::Native => path.display().to_string(),
        Target::Wine => wine::windows_path(path),
    }
}

/// Where the Windows build and Wine are found, and how paths look there.
pub mod wine {
    use std::path::{Path, PathBuf};
    use std::process::Stdio;

    const HOW: &str = "build and stage it with scripts/test-windows, which also installs Wine and MinGW-w64 (scripts/setup-windows)";

    /// Returns the Wine loader: TGW_VIP_WINE, or `wine` from the PATH.
    pub fn program() -> String {
        std::env::var("TGW_VIP_WINE").unwrap_or_else(|_| "wine".to_string())
    }

    /// Returns the staged tgw-vip.exe, named by TGW_VIP_WINDOWS_EXE.
    pub fn exe() -> PathBuf {
        let Ok(path) = std::env::var("TGW_VIP_WINDOWS_EXE") else {
            panic!("TGW_VIP_WINDOWS_EXE is not set: it names the tgw-vip.exe to test; {HOW}");
        };
        let path = PathBuf::from(path);
        assert!(path.is_file(), "{} does not exist; {HOW}", path.display());
        path
    }

    /// Starts a persistent wineserver and Wine's own services once, with
    /// their output sent nowhere. Started by a test's first Wine process
    /// instead, those services would inherit that process's stdout and
    /// keep the pipe open, and the test would wait for it forever.
    pub fn boot() {
        static BOOT: std::sync::Once = std::sync::Once::new();
        BOOT.call_once(|| {
            let server = std::env::var("WINESERVER").unwrap_or_else(|_| "wineserver".to_string());
            let quiet = |program: &str, args: &[&str]| {
                std::process::Command::new(program)
                    .args(args)
                    .envs(env())
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .unwrap_or_else(|err| panic!("cannot run {program}: {err}; {HOW}"))
            };
            quiet(&server, &["-p"]);
            let status = quiet(&program(), &["cmd", "/c", "exit 0"]);
            assert!(status.success(), "Wine does not start ({status}); {HOW}");
        });
    }

    /// Lists the variables Wine reads, to pass through the cleared
    /// environment.
    pub fn env() -> Vec<(String, String)> {
        [
            "HOME",
            "WINEPREFIX",
            "WINEDEBUG",
            "WINEDLLOVERRIDES",
            "WINESERVER",
        ]
        .iter()
        .filter_map(|name| Some((name.to_string(), std::env::var(name).ok()?)))
        .collect()
    }

    /// Converts a path of this machine to its form on Wine's Z: drive.
    pub fn windows_path(path: &Path) -> String {
        format!("Z:{}", path.display()).replace('/', "\\")
    }
}

/// One VIP route as read back by tests/emulator/show_routes.py.
#[derive(Debug, Clone)]
pub struct RouteRow {
    pub table: String,
    pub target: String,
    pub state: String,
}

/// Reads every managed VIP route of the layout, independently of tgw-vip.
pub fn routes(emulator: &Emulator, layout: &Layout) -> Vec<RouteRow> {
    let vip = layout.ids["vip_cidr"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    routes_for(emulator, layout, &vip)
}

/// Reads the route for `destination` in every managed table of the layout.
pub fn routes_for(emulator: &Emulator, layout: &Layout, destination: &str) -> Vec<RouteRow> {
    let output = Command::new(python())
        .arg(root().join("tests/emulator/show_routes.py"))
        .args([
            "--endpoint",
            &emulator.url(),
            "--json",
            "--vip",
            destination,
            "--ids",
        ])
        .arg(layout.dir.join("ids.json"))
        .output()
        .expect("run show_routes.py");
    assert!(
        output.status.success(),
        "show_routes.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&output.stdout).expect("show_routes JSON");
    rows.iter()
        .map(|row| RouteRow {
            table: row["table"].as_str().unwrap_or_default().to_string(),
            target: row["target"].as_str().unwrap_or_default().to_string(),
            state: row["state"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

/// Returns the target of the VIP route in `table`.
pub fn target_in(rows: &[RouteRow], table: &str) -> String {
    rows.iter()
        .find(|r| r.table == table)
        .map(|r| r.target.clone())
        .unwrap_or_else(|| panic!("no VIP route read back in {table}: {rows:?}"))
}
