//! The CLUSTERPRO for Windows examples in examples/clusterpro (start.bat,
//! stop.bat and monitor.bat), run unchanged by Wine's cmd. They call tgw-vip.exe under
//! C:\Program Files\tgw-vip with the config in C:\ProgramData\tgw-vip, so
//! this test installs both there in the Wine prefix, as an operator would.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{self, root, routes, target_in, tgw_vip, wine, Emulator, Layout, Run};

const A: &str = "server-a.test.local";
const B: &str = "server-b.test.local";
const TOKYO: &str = "ap-northeast-1";

/// Returns the folder of the Wine prefix's C: drive.
fn drive_c() -> PathBuf {
    let prefix = std::env::var("WINEPREFIX")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".wine"));
    let drive = prefix.join("drive_c");
    assert!(
        drive.is_dir(),
        "no Wine prefix at {}; create it with scripts/setup-windows",
        prefix.display()
    );
    drive
}

/// Copies the staged exe, with everything staged beside it, to
/// C:\Program Files\tgw-vip.
fn install_exe(drive: &Path) {
    let exe = wine::exe();
    let stage = exe.parent().expect("staged exe has a folder");
    let target = drive.join("Program Files/tgw-vip");
    std::fs::create_dir_all(&target).unwrap();
    for entry in std::fs::read_dir(stage).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), target.join(entry.file_name())).unwrap();
    }
}

/// Writes the layout's config to C:\ProgramData\tgw-vip\tgw.conf, with
/// server A keyed by this host's NetBIOS name, so that the scripts, which
/// pass no --server, run as server A.
fn install_config(drive: &Path, layout: &Layout, host: &str) -> PathBuf {
    let text = std::fs::read_to_string(&layout.conf).unwrap();
    let target = drive.join("ProgramData/tgw-vip/tgw.conf");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(&target, text.replace(A, host)).unwrap();
    target
}

/// Runs one example script with cmd /c, as CLUSTERPRO runs it.
fn script(name: &str, endpoint: &str) -> Run {
    wine::boot();
    let path = wine::windows_path(&root().join("examples/clusterpro").join(name));
    let mut command = Command::new(wine::program());
    command
        .args(["cmd", "/c", &path])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(support::test_env())
        .envs(wine::env())
        .env("AWS_ENDPOINT_URL", endpoint);
    support::run(command)
}

fn computer_name() -> String {
    wine::boot();
    let mut command = Command::new(wine::program());
    command
        .args(["cmd", "/c", "echo %COMPUTERNAME%"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(wine::env());
    let run = support::run(command);
    assert_eq!(run.code, 0, "{run:?}");
    run.stdout.trim().to_string()
}

/// Returns a loopback URL where nothing listens.
fn closed_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[test]
fn bat_scripts_pass_exit_codes() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let drive = drive_c();
    install_exe(&drive);
    let host = computer_name();
    let conf = install_config(&drive, &layout, &host);
    let (_, rtb_a) = layout.gateway_in(TOKYO);
    let attach_a = layout.server(A)["attachment"].as_str().unwrap().to_string();

    let start = script("start.bat", &emulator.url());
    assert_eq!(start.code, 0, "start.bat: {start:?}");
    assert_eq!(target_in(&routes(&emulator, &layout), &rtb_a), attach_a);

    let healthy = script("monitor.bat", &emulator.url());
    assert_eq!(
        healthy.code, 0,
        "monitor.bat on the active node: {healthy:?}"
    );

    let failover = tgw_vip(&emulator, &conf, &["--server", B, "start"]);
    assert_eq!(failover.code, 0, "{failover:?}");
    let drift = script("monitor.bat", &emulator.url());
    assert_eq!(
        drift.code, 1,
        "monitor.bat after a failover to B: {drift:?}"
    );

    emulator.reset_counters();
    let stop = script("stop.bat", &emulator.url());
    assert_eq!(stop.code, 0, "stop.bat: {stop:?}");
    assert_eq!(emulator.writes(), 0, "stop.bat changed a route");

    let unreachable = script("start.bat", &closed_endpoint());
    assert_eq!(
        unreachable.code, 3,
        "start.bat without AWS: {unreachable:?}"
    );

    std::fs::write(&conf, "servers: [\n").unwrap();
    let broken = script("start.bat", &emulator.url());
    assert_eq!(broken.code, 2, "start.bat with a broken config: {broken:?}");
}
