//! Windows behaviour of tgw-vip.exe: the host names Windows reports,
//! drive-letter paths, files as Notepad saves them, and hook file ACLs.

use std::path::Path;
use std::process::Command;

use crate::support::{
    self, native_path, routes, routes_for, target_in, tgw_vip, tgw_vip_env, wine, Emulator, Layout,
    Run,
};

const A: &str = "server-a.test.local";
const B: &str = "server-b.test.local";
const TOKYO: &str = "ap-northeast-1";
const SINGAPORE: &str = "ap-southeast-1";

/// "# 東京リージョンのルートテーブル" saved in Shift_JIS (CP932).
const SHIFT_JIS_COMMENT: &[u8] = &[
    35, 32, 147, 140, 139, 158, 131, 138, 129, 91, 131, 87, 131, 135, 131, 147, 130, 204, 131, 139,
    129, 91, 131, 103, 131, 101, 129, 91, 131, 117, 131, 139,
];

fn str_of(value: &serde_json::Value) -> String {
    value.as_str().expect("string id").to_string()
}

/// Runs a Windows program under Wine with the test environment.
fn wine_program(args: &[&str]) -> Run {
    wine::boot();
    let mut command = Command::new(wine::program());
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(support::test_env())
        .envs(wine::env());
    support::run(command)
}

/// Reads the DNS host name and the NetBIOS computer name through Windows
/// programs other than tgw-vip.
fn windows_host_names() -> (String, String) {
    let dns = wine_program(&["hostname.exe"]);
    assert_eq!(dns.code, 0, "hostname.exe: {dns:?}");
    let netbios = wine_program(&["cmd", "/c", "echo %COMPUTERNAME%"]);
    assert_eq!(netbios.code, 0, "echo %COMPUTERNAME%: {netbios:?}");
    (
        dns.stdout.trim().to_string(),
        netbios.stdout.trim().to_string(),
    )
}

/// Renames a server's entry in the layout's config.
fn rename_server(layout: &Layout, from: &str, to: &str) {
    let text = std::fs::read_to_string(&layout.conf).unwrap();
    assert!(text.contains(from), "{from} not in tgw.conf: {text}");
    std::fs::write(&layout.conf, text.replace(from, to)).unwrap();
}

fn rename_server_a(layout: &Layout, name: &str) {
    rename_server(layout, A, name);
}

/// Reads the target of the VIP route in server A's Transit Gateway route
/// table.
fn tokyo_tgw_target(emulator: &Emulator, layout: &Layout) -> String {
    let (_, rtb_a) = layout.gateway_in(TOKYO);
    target_in(&routes(emulator, layout), &rtb_a)
}

fn attachment_of(layout: &Layout, server: &str) -> String {
    str_of(&layout.server(server)["attachment"])
}

#[test]
fn netbios_name_selects_server() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let (_, netbios) = windows_host_names();
    rename_server_a(&layout, &netbios);

    let run = tgw_vip(&emulator, &layout.conf, &["start"]);

    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        tokyo_tgw_target(&emulator, &layout),
        attachment_of(&layout, A)
    );
}

#[test]
fn dns_name_with_domain_selects_server() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let (dns, _) = windows_host_names();
    let key = format!("{}.corp.example", dns.to_uppercase());
    rename_server_a(&layout, &key);

    let run = tgw_vip(&emulator, &layout.conf, &["start"]);

    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        tokyo_tgw_target(&emulator, &layout),
        attachment_of(&layout, A)
    );
}

#[test]
fn unknown_host_names_every_windows_name() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let (dns, netbios) = windows_host_names();
    rename_server_a(&layout, "node-elsewhere");
    emulator.reset_counters();

    let run = tgw_vip(&emulator, &layout.conf, &["start"]);

    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains(&dns), "DNS name {dns} missing: {run:?}");
    assert!(
        run.stderr.contains(&netbios),
        "NetBIOS name {netbios} missing: {run:?}"
    );
    assert!(run.stderr.contains("--server"), "{run:?}");
    assert_eq!(emulator.writes(), 0);
}

/// A pre_activate hook that adds a route to `destination` in server B's
/// Transit Gateway route table.
fn route_adding_hook(layout: &Layout, destination: &str) -> String {
    let (_, rtb_b) = layout.gateway_in(SINGAPORE);
    let peering = str_of(&layout.ids["peerings"][0]["id"]);
    format!(
        "return {{ pre_activate = function(ctx)\n  ctx.add_route{{region='{SINGAPORE}', table='{rtb_b}', destination='{destination}', target='{peering}'}}\nend }}\n"
    )
}

#[test]
fn backslash_paths_for_config_and_hooks() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let hooks_dir = layout.dir.join("hooks");
    std::fs::create_dir(&hooks_dir).unwrap();
    let relative = hooks_dir.join("relative.lua");
    let absolute = layout.dir.join("absolute.lua");
    std::fs::write(&relative, route_adding_hook(&layout, "172.16.0.98/32")).unwrap();
    std::fs::write(&absolute, route_adding_hook(&layout, "172.16.0.99/32")).unwrap();
    let absolute_windows = native_path(&absolute);
    assert!(absolute_windows.starts_with("Z:\\"), "{absolute_windows}");
    layout.append_config(&format!(
        "hooks: ['hooks\\relative.lua', '{absolute_windows}']\n"
    ));

    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);

    assert_eq!(run.code, 0, "{run:?}");
    let (_, rtb_b) = layout.gateway_in(SINGAPORE);
    let peering = str_of(&layout.ids["peerings"][0]["id"]);
    for destination in ["172.16.0.98/32", "172.16.0.99/32"] {
        let rows = routes_for(&emulator, &layout, destination);
        assert_eq!(target_in(&rows, &rtb_b), peering, "{destination}: {run:?}");
    }
}

/// Rewrites the layout's config as Notepad may save it.
fn save_as_notepad(conf: &Path, bom: bool, crlf: bool) {
    let mut text = std::fs::read_to_string(conf).unwrap();
    if crlf {
        text = text.replace('\n', "\r\n");
    }
    let mut bytes = Vec::new();
    if bom {
        bytes.extend_from_slice(b"\xEF\xBB\xBF");
    }
    bytes.extend_from_slice(text.as_bytes());
    std::fs::write(conf, bytes).unwrap();
}

#[test]
fn config_with_bom_and_crlf_works() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    save_as_notepad(&layout.conf, true, true);

    let start = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);
    let monitor = tgw_vip(&emulator, &layout.conf, &["--server", A, "monitor"]);

    assert_eq!(start.code, 0, "{start:?}");
    assert_eq!(monitor.code, 0, "{monitor:?}");
    assert_eq!(
        tokyo_tgw_target(&emulator, &layout),
        attachment_of(&layout, A)
    );
}

#[test]
fn config_with_crlf_only_works() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    save_as_notepad(&layout.conf, false, true);

    let run = tgw_vip(&emulator, &layout.conf, &["--server", B, "start"]);

    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        tokyo_tgw_target(&emulator, &layout),
        str_of(&layout.ids["peerings"][0]["id"])
    );
}

#[test]
fn shift_jis_config_is_rejected() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let mut bytes = SHIFT_JIS_COMMENT.to_vec();
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(&std::fs::read(&layout.conf).unwrap());
    std::fs::write(&layout.conf, bytes).unwrap();
    emulator.reset_counters();

    let english = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);
    let japanese = tgw_vip_env(
        &emulator,
        &layout.conf,
        &["--server", A, "start"],
        &[("LANG", "ja_JP.UTF-8")],
    );

    assert_eq!(english.code, 2, "{english:?}");
    assert!(english.stderr.contains("not valid UTF-8"), "{english:?}");
    assert!(
        english.stderr.contains("save the file as UTF-8"),
        "{english:?}"
    );
    assert_eq!(japanese.code, 2, "{japanese:?}");
    assert!(japanese.stderr.contains("UTF-8"), "{japanese:?}");
    assert!(japanese.stderr.contains("保存"), "{japanese:?}");
    assert_eq!(emulator.writes(), 0);
}

/// Wine maps a file's unix mode bits to its ACL: the bits for others become
/// an entry for Everyone. So to Windows a file with mode 0666 is writable by
/// Everyone, and one with mode 0644 is not.
#[test]
fn hook_writable_by_everyone_is_rejected() {
    use std::os::unix::fs::PermissionsExt;

    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let hook = layout.dir.join("open.lua");
    std::fs::write(&hook, "return {}\n").unwrap();
    layout.append_config("hooks: [open.lua]\n");
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o666)).unwrap();
    emulator.reset_counters();

    let open = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);

    assert_eq!(open.code, 2, "{open:?}");
    assert!(open.stderr.contains("open.lua"), "{open:?}");
    assert!(open.stderr.contains("Everyone (S-1-1-0)"), "{open:?}");
    assert!(open.stderr.contains("icacls"), "{open:?}");
    assert_eq!(emulator.counters()["total"], 0);

    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o644)).unwrap();
    let closed = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);
    assert_eq!(closed.code, 0, "{closed:?}");
}

/// Sets the host name in a new UTS namespace, boots Wine there with its
/// output sent nowhere, then runs the command given after it.
const AS_HOST: &str =
    r#"hostname "$0" && "$1" cmd /c "exit 0" </dev/null >/dev/null 2>&1 && exec "$@""#;

/// Runs tgw-vip.exe on a machine named `host`. Wine fixes the computer
/// name when a prefix's wineserver starts, so this uses its own prefix
/// and a UTS namespace (which needs root) rather than the shared ones.
fn run_as_host(prefix: &Path, host: &str, emulator: &Emulator, conf: &Path) -> Run {
    let mut command = Command::new("unshare");
    command
        .args(["--uts", "--", "sh", "-c", AS_HOST, host])
        .arg(wine::program())
        .arg(wine::exe())
        .args(["-c", &native_path(conf), "--vip", "172.16.0.1", "start"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(support::test_env())
        .envs(wine::env())
        .env("WINEPREFIX", prefix)
        .env("AWS_ENDPOINT_URL", emulator.url());
    let run = support::run(command);
    assert!(
        !run.stderr.contains("unshare:"),
        "this test sets a host name in a UTS namespace and needs root: {run:?}"
    );
    run
}

/// Ends the wineserver of a private prefix, so that the prefix can go.
fn stop_wineserver(prefix: &Path) {
    let server = std::env::var("WINESERVER").unwrap_or_else(|_| "wineserver".to_string());
    let _ = Command::new(server)
        .arg("-k")
        .env("WINEPREFIX", prefix)
        .status();
}

#[test]
fn long_name_matches_dns_or_netbios() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let prefix = tempfile::tempdir().unwrap();
    let host = "tokyo-cluster-node-a";
    let mut key = A.to_string();

    let mut runs = Vec::new();
    for next in [host, "TOKYO-CLUSTER-N"] {
        rename_server(&layout, &key, next);
        key = next.to_string();
        let back = tgw_vip(&emulator, &layout.conf, &["--server", B, "start"]);
        assert_eq!(back.code, 0, "{back:?}");
        let run = run_as_host(prefix.path(), host, &emulator, &layout.conf);
        runs.push((next, tokyo_tgw_target(&emulator, &layout), run));
    }
    rename_server(&layout, &key, "osaka-node-c");
    let unknown = run_as_host(prefix.path(), host, &emulator, &layout.conf);
    stop_wineserver(prefix.path());

    for (key, target, run) in runs {
        assert_eq!(run.code, 0, "key {key}: {run:?}");
        assert_eq!(target, attachment_of(&layout, A), "key {key}: {run:?}");
    }
    assert_eq!(unknown.code, 2, "{unknown:?}");
    assert!(unknown.stderr.contains(host), "{unknown:?}");
    assert!(unknown.stderr.contains("TOKYO-CLUSTER-N"), "{unknown:?}");
}
