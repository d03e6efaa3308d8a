//! The corpus of invalid configurations in tests/configs/invalid.
//!
//! Each `NAME.conf` is run as `tgw-vip --vip 172.16.0.1 -c NAME.conf --server
//! server-a.test.local start` from its own directory with LANG=C, or with the
//! arguments listed one per line in `NAME.args`. Standard error must equal
//! `NAME.expected` byte for byte, and the exit code must be 2. A first-line
//! comment `# key: PATH` (after an optional description line) states the key
//! the message must point at, with a line number.
//!
//! Set TGW_VIP_BLESS=1 to rewrite the .expected files from the current
//! output, then review every changed message before committing it.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};

const DEFAULT_ARGS: &[&str] = &[
    "--vip",
    "172.16.0.1",
    "--server",
    "server-a.test.local",
    "start",
];

/// Size of the generated oversized config, above the loader's 4 MiB limit.
const HUGE_BYTES: usize = 5 * 1024 * 1024;

fn corpus_dir() -> PathBuf {
    crate::support::root().join("tests/configs/invalid")
}

fn blessing() -> bool {
    std::env::var_os("TGW_VIP_BLESS").is_some_and(|value| value == "1")
}

/// A loopback port that accepts connections but that no case may contact.
struct Trap {
    listener: TcpListener,
    address: SocketAddr,
}

impl Trap {
    fn open() -> Trap {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener
            .set_nonblocking(true)
            .expect("make the listener non-blocking");
        let address = listener.local_addr().expect("read the listener address");
        Trap { listener, address }
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Returns the peer address of a connection that someone made, if any.
    fn contacted(&self) -> Option<SocketAddr> {
        match self.listener.accept() {
            Ok((_, peer)) => Some(peer),
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => None,
            Err(err) => panic!("accept on the trap listener failed: {err}"),
        }
    }
}

struct CaseRun {
    code: i32,
    stderr: String,
    stdout: String,
}

/// Runs tgw-vip on `conf_name` inside `dir` with a cleared environment.
fn run_case(dir: &Path, conf_name: &str, args: &[String], trap: &Trap) -> CaseRun {
    let output = crate::support::tgw_vip_command()
        .current_dir(dir)
        .args(["-c", conf_name])
        .args(args)
        .env("AWS_ENDPOINT_URL", trap.url())
        .output()
        .expect("run tgw-vip");
    CaseRun {
        code: output.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
    }
}

fn case_args(dir: &Path, name: &str) -> Vec<String> {
    match std::fs::read_to_string(dir.join(format!("{name}.args"))) {
        Ok(text) => text.lines().map(str::to_string).collect(),
        Err(_) => DEFAULT_ARGS.iter().map(|arg| arg.to_string()).collect(),
    }
}

/// Reads the key path that a case declares in a `# key: PATH` comment.
fn declared_key(conf: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(conf);
    text.lines()
        .take(2)
        .find_map(|line| line.strip_prefix("# key: "))
        .map(|key| key.trim().to_string())
}

/// Compares one run with its .expected file, or rewrites the file when
/// blessing. Returns a description of each mismatch.
fn check_case(name: &str, run: &CaseRun, expected_path: &Path, key: Option<&str>) -> Vec<String> {
    let mut failures = Vec::new();
    if run.code != 2 {
        failures.push(format!("{name}: exit code {} instead of 2", run.code));
    }
    if !run.stdout.is_empty() {
        failures.push(format!(
            "{name}: unexpected standard output {:?}",
            run.stdout
        ));
    }
    if run.stderr.contains("internal error") || run.stderr.contains("panicked") {
        failures.push(format!("{name}: the loader panicked: {}", run.stderr));
    }
    if let Some(key) = key {
        let located = run
            .stderr
            .lines()
            .any(|line| line.contains(", line ") && line.ends_with(&format!(", key {key}")));
        if !located {
            failures.push(format!(
                "{name}: standard error does not name line and key {key}:\n{}",
                run.stderr
            ));
        }
    }

    if blessing() {
        std::fs::write(expected_path, &run.stderr).expect("write the .expected file");
        return failures;
    }
    match std::fs::read_to_string(expected_path) {
        Ok(expected) if expected == run.stderr => {}
        Ok(expected) => failures.push(format!(
            "{name}: standard error differs from {}\n--- expected\n{expected}--- actual\n{}",
            expected_path.display(),
            run.stderr
        )),
        Err(err) => failures.push(format!(
            "{name}: cannot read {}: {err}; run with TGW_VIP_BLESS=1 to create it",
            expected_path.display()
        )),
    }
    failures
}

#[test]
fn invalid_configs_match_expected_errors() {
    let dir = corpus_dir();
    let trap = Trap::open();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("list tests/configs/invalid")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?;
            name.strip_suffix(".conf").map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= 40,
        "the corpus has only {} configs",
        names.len()
    );

    let mut failures = Vec::new();
    for name in &names {
        let conf_name = format!("{name}.conf");
        let conf = std::fs::read(dir.join(&conf_name)).expect("read the config");
        let args = case_args(&dir, name);
        let run = run_case(&dir, &conf_name, &args, &trap);
        let expected = dir.join(format!("{name}.expected"));
        failures.extend(check_case(
            name,
            &run,
            &expected,
            declared_key(&conf).as_deref(),
        ));
    }

    assert!(
        trap.contacted().is_none(),
        "a corpus case contacted the endpoint"
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        names.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_expected_file_has_config() {
    let dir = corpus_dir();
    for entry in std::fs::read_dir(&dir).expect("list tests/configs/invalid") {
        let path = entry.expect("read a directory entry").path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name
            .strip_suffix(".expected")
            .or_else(|| name.strip_suffix(".args"))
        else {
            continue;
        };
        if stem.starts_with("generated-") {
            continue;
        }
        assert!(
            dir.join(format!("{stem}.conf")).exists(),
            "{name} has no {stem}.conf"
        );
    }
}

/// A 5 MiB file is generated here instead of being committed. Its content
/// is valid YAML, so only the size check can reject it.
#[test]
fn oversized_config_is_rejected() {
    let work = tempfile::tempdir().expect("create a temporary directory");
    let mut text = std::fs::read_to_string(crate::support::root().join("examples/tgw.conf"))
        .expect("read examples/tgw.conf");
    let filler = "# padding comment to exceed the size limit of the loader\n";
    while text.len() < HUGE_BYTES {
        text.push_str(filler);
    }
    text.truncate(HUGE_BYTES);
    std::fs::write(work.path().join("huge.conf"), &text).expect("write huge.conf");

    let trap = Trap::open();
    let args: Vec<String> = DEFAULT_ARGS.iter().map(|arg| arg.to_string()).collect();
    let run = run_case(work.path(), "huge.conf", &args, &trap);
    let expected = corpus_dir().join("generated-huge.expected");
    let failures = check_case("generated-huge", &run, &expected, None);

    assert!(
        trap.contacted().is_none(),
        "the oversized case contacted the endpoint"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A config read from a missing path fails like the others: exit 2, no
/// contact.
#[test]
fn missing_config_file_is_rejected() {
    let work = tempfile::tempdir().expect("create a temporary directory");
    let trap = Trap::open();
    let args: Vec<String> = DEFAULT_ARGS.iter().map(|arg| arg.to_string()).collect();

    let run = run_case(work.path(), "absent.conf", &args, &trap);

    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("absent.conf"), "{}", run.stderr);
    assert!(
        trap.contacted().is_none(),
        "the missing-file case contacted the endpoint"
    );
}
