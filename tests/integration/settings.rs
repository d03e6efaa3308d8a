//! Standard AWS settings: endpoint variables, profiles, per-region
//! endpoints in the config, and credentials that cannot be found.

use std::process::Command;

use crate::support::{routes, target_in, test_env, Emulator, Run};

const A: &str = "server-a.test.local";

/// Runs tgw-vip with only the environment given here, so each test chooses
/// how the endpoint and credentials are found.
fn run_with(conf: &std::path::Path, args: &[&str], env: &[(&str, String)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tgw-vip"));
    command
        .args(["--vip", "172.16.0.1", "-c"])
        .arg(conf)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("LANG", "C");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run tgw-vip");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn eni_of(layout: &crate::support::Layout) -> String {
    layout.server(A)["eni"].as_str().unwrap().to_string()
}

fn first_table(layout: &crate::support::Layout) -> String {
    layout.server(A)["route_tables"][0]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn service_endpoint_variable_is_used() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let mut env: Vec<(&str, String)> = test_env();
    env.push(("AWS_ENDPOINT_URL_EC2", emulator.url()));
    // The general variable points at a closed port; the EC2 one must win.
    env.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:9".to_string()));

    let run = run_with(&layout.conf, &["--server", A, "start"], &env);

    assert_eq!(run.code, 0, "{run:?}");
    let rows = routes(&emulator, &layout);
    assert_eq!(target_in(&rows, &first_table(&layout)), eni_of(&layout));
}

#[test]
fn profile_supplies_credentials_and_endpoint() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let config = layout.dir.join("aws-config");
    let credentials = layout.dir.join("aws-credentials");
    std::fs::write(
        &config,
        format!(
            "[profile cluster]\nregion = ap-northeast-1\nendpoint_url = {}\n",
            emulator.url()
        ),
    )
    .unwrap();
    std::fs::write(
        &credentials,
        "[cluster]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let env = vec![
        ("AWS_PROFILE", "cluster".to_string()),
        ("AWS_CONFIG_FILE", config.display().to_string()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            credentials.display().to_string(),
        ),
        ("AWS_REGION", "ap-northeast-1".to_string()),
    ];

    let run = run_with(&layout.conf, &["--server", A, "start"], &env);

    assert_eq!(run.code, 0, "{run:?}");
    let rows = routes(&emulator, &layout);
    assert_eq!(target_in(&rows, &first_table(&layout)), eni_of(&layout));
}

#[test]
fn per_region_endpoints_in_config() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let url = emulator.url();
    layout.append_config(&format!(
        "aws:\n  endpoints:\n    ap-northeast-1: {url}\n    ap-southeast-1: {url}\n"
    ));
    let mut env: Vec<(&str, String)> = test_env();
    env.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:9".to_string()));

    let run = run_with(&layout.conf, &["--server", A, "start"], &env);

    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn missing_credentials_exit_three() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    emulator.reset_counters();
    let env = vec![
        ("AWS_ENDPOINT_URL", emulator.url()),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config".to_string()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials".to_string(),
        ),
    ];

    let run = run_with(&layout.conf, &["--server", A, "start"], &env);

    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("credentials"), "{run:?}");
    assert_eq!(emulator.counters()["total"], 0);
}

#[test]
fn unknown_profile_exit_three() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let env = vec![
        ("AWS_ENDPOINT_URL", emulator.url()),
        ("AWS_PROFILE", "no-such-profile".to_string()),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config".to_string()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials".to_string(),
        ),
    ];

    let run = run_with(&layout.conf, &["--server", A, "monitor"], &env);

    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("no-such-profile"), "{run:?}");
}

#[test]
fn config_profile_wins_over_environment() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    layout.append_config("aws:\n  profile: nosuch\n");
    emulator.reset_counters();
    let mut env: Vec<(&str, String)> = test_env();
    env.push(("AWS_ENDPOINT_URL", emulator.url()));

    let run = run_with(&layout.conf, &["--server", A, "start"], &env);

    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("profile nosuch"), "{run:?}");
    assert!(run.stderr.contains("aws.profile"), "{run:?}");
    assert_eq!(emulator.counters()["total"], 0);
}

#[test]
fn endpoint_not_answering_respects_timeout() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    // A listener that accepts connections and never responds.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let mut env: Vec<(&str, String)> = test_env();
    env.push(("AWS_ENDPOINT_URL", url));

    let started = std::time::Instant::now();
    let run = run_with(
        &layout.conf,
        &["--server", A, "--timeout", "3", "start"],
        &env,
    );
    let elapsed = started.elapsed();

    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        elapsed.as_secs_f64() < 4.0,
        "start took {elapsed:?} with --timeout 3"
    );
    drop(silent);
}
