//! Lua hooks end to end: the shipped examples in hooks/ and the limits,
//! aborts and errors of the hook runtime, against the EC2 emulator.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::{root, routes, target_in, tgw_vip, tgw_vip_env, Emulator, Layout, Run};

const A: &str = "server-a.test.local";
const B: &str = "server-b.test.local";
const TOKYO: &str = "ap-northeast-1";
const SINGAPORE: &str = "ap-southeast-1";

fn str_of(value: &serde_json::Value) -> String {
    value.as_str().expect("string id").to_string()
}

/// Writes a hook file next to the layout's config and lists it there.
fn add_hook(layout: &Layout, name: &str, source: &str) -> PathBuf {
    let path = layout.dir.join(name);
    std::fs::write(&path, source).unwrap();
    layout.append_config(&format!("hooks: [{name}]\n"));
    path
}

/// Lists shipped example hooks in the layout's config.
fn use_examples(layout: &Layout, names: &[&str]) {
    let paths: Vec<String> = names
        .iter()
        .map(|n| root().join("hooks").join(n).display().to_string())
        .collect();
    layout.append_config(&format!("hooks: [{}]\n", paths.join(", ")));
}

fn output_of(run: &Run) -> String {
    format!("{}{}", run.stdout, run.stderr)
}

fn client_of(layout: &Layout) -> serde_json::Value {
    layout.ids["client_vpcs"]
        .as_object()
        .and_then(|m| m.values().next())
        .expect("a client VPC in ids.json")
        .clone()
}

#[test]
fn abort_writes_nothing() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    add_hook(
        &layout,
        "abort.lua",
        "return { pre_activate = function(ctx)\n  return false, 'maintenance window'\nend }\n",
    );
    emulator.reset_counters();

    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);

    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("maintenance window"), "{run:?}");
    assert!(run.stderr.contains("abort.lua"), "{run:?}");
    assert_eq!(emulator.writes(), 0);
}

#[test]
fn plan_runs_pre_activate_and_check_loads_hooks() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let hook = add_hook(
        &layout,
        "abort.lua",
        "return { pre_activate = function(ctx)\n  if ctx.action == 'plan' then return false, 'planned only' end\nend }\n",
    );
    emulator.reset_counters();

    let plan = tgw_vip(&emulator, &layout.conf, &["--server", B, "plan"]);
    let check = tgw_vip(&emulator, &layout.conf, &["check"]);

    assert_eq!(plan.code, 4, "{plan:?}");
    assert!(plan.stderr.contains("planned only"), "{plan:?}");
    assert_eq!(check.code, 0, "{check:?}");
    assert_eq!(emulator.writes(), 0);

    std::fs::write(&hook, "return {\n  pre_activate = function(ctx)\n").unwrap();
    let check = tgw_vip(&emulator, &layout.conf, &["check"]);

    assert_eq!(check.code, 2, "{check:?}");
    assert!(check.stderr.contains("syntax error"), "{check:?}");
}

#[test]
fn raised_error_aborts_with_line() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    add_hook(
        &layout,
        "raise.lua",
        "return {\n  pre_activate = function(ctx)\n    error('no quorum')\n  end,\n}\n",
    );
    emulator.reset_counters();

    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);

    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("raise.lua:3:"), "{run:?}");
    assert!(run.stderr.contains("no quorum"), "{run:?}");
    assert_eq!(emulator.writes(), 0);
}

#[test]
fn runaway_hook_is_stopped() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    add_hook(
        &layout,
        "loop.lua",
        "return { pre_activate = function(ctx)\n  while true do end\nend }\n",
    );
    emulator.reset_counters();

    let run = tgw_vip(
        &emulator,
        &layout.conf,
        &["--timeout", "3", "--server", A, "start"],
    );

    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("loop.lua:2"), "{run:?}");
    assert!(run.stderr.contains("time limit"), "{run:?}");
    assert_eq!(emulator.writes(), 0);
}

#[test]
fn hook_over_memory_limit_is_stopped() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    add_hook(
        &layout,
        "hog.lua",
        "return { pre_activate = function(ctx)\n  local t = {}\n  for i = 1, 1e9 do t[i] = string.rep('x', 64) .. i end\nend }\n",
    );
    emulator.reset_counters();

    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);

    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("hog.lua"), "{run:?}");
    assert!(run.stderr.contains("memory limit of 64 MiB"), "{run:?}");
    assert_eq!(emulator.writes(), 0);
}

#[test]
fn post_activate_error_keeps_exit_code() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    add_hook(
        &layout,
        "post.lua",
        "return {\n  post_activate = function(ctx)\n    local x = nil\n    return x.field\n  end,\n}\n",
    );

    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);

    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("post.lua:4:"), "{run:?}");
}

#[test]
fn writable_hook_is_rejected() {
    use std::os::unix::fs::PermissionsExt;

    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let path = add_hook(&layout, "open.lua", "return {}\n");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    emulator.reset_counters();

    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);

    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("chmod go-w"), "{run:?}");
    assert!(run.stderr.contains("open.lua"), "{run:?}");
    assert_eq!(emulator.counters()["total"], 0);
}

#[test]
fn foreign_owner_is_rejected() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let path = add_hook(&layout, "foreign.lua", "return {}\n");
    if std::os::unix::fs::chown(&path, Some(54321), None).is_err() {
        eprintln!("skipped: changing a file's owner needs root");
        return;
    }

    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);

    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("54321"), "{run:?}");
    assert!(run.stderr.contains("chown"), "{run:?}");
}

#[test]
fn bad_monitor_answer_names_line() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);
    add_hook(
        &layout,
        "policy.lua",
        "return {\n  on_monitor_fail = function(ctx)\n    return 'maybe'\n  end,\n}\n",
    );

    let run = tgw_vip(&emulator, &layout.conf, &["--server", B, "monitor"]);

    assert_eq!(run.code, 1, "{run:?}");
    let output = output_of(&run);
    assert!(output.contains("policy.lua:2"), "{run:?}");
    assert!(output.contains("maybe"), "{run:?}");
}

#[test]
fn region_outside_config_is_rejected() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    add_hook(
        &layout,
        "far.lua",
        "return { pre_activate = function(ctx)\n  ctx.add_route{region='eu-west-1', table='tgw-rtb-0123456789abcdef0', target='tgw-attach-0123456789abcdef0'}\nend }\n",
    );
    emulator.reset_counters();

    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);

    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("far.lua"), "{run:?}");
    assert!(run.stderr.contains("eu-west-1"), "{run:?}");
    assert_eq!(emulator.writes(), 0);
}

#[test]
fn added_tgw_route_is_created() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let (_, rtb_b) = layout.gateway_in(SINGAPORE);
    let peering = str_of(&layout.ids["peerings"][0]["id"]);
    let source = format!(
        "return {{ pre_activate = function(ctx)\n  ctx.add_route{{region='{SINGAPORE}', table='{rtb_b}', destination='172.16.0.99/32', target='{peering}'}}\nend }}\n"
    );
    add_hook(&layout, "extra.lua", &source);

    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);
    assert_eq!(run.code, 0, "{run:?}");

    emulator.reset_counters();
    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        emulator.writes(),
        0,
        "the added route was not created: {run:?}"
    );
}

#[test]
fn skipped_table_is_not_written() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    tgw_vip(&emulator, &layout.conf, &["--server", B, "start"]);
    let (_, rtb_b) = layout.gateway_in(SINGAPORE);
    let before = target_in(&routes(&emulator, &layout), &rtb_b);
    let source = format!("return {{ pre_activate = function(ctx)\n  ctx.skip('{rtb_b}')\nend }}\n");
    add_hook(&layout, "skip.lua", &source);

    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);

    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(target_in(&routes(&emulator, &layout), &rtb_b), before);
}

/// Removes the client VPC from the generated config, so only a hook
/// routes it.
fn forget_client(layout: &Layout, client: &serde_json::Value) {
    let text = std::fs::read_to_string(&layout.conf).unwrap();
    let entry = format!(
        ", {}: {}",
        str_of(&client["attachment"]),
        str_of(&client["vpc"])
    );
    assert!(text.contains(&entry), "client VPC not in tgw.conf: {text}");
    std::fs::write(&layout.conf, text.replace(&entry, "")).unwrap();
}

#[test]
fn example_client_vpc_routes() {
    let emulator = Emulator::start();
    let layout = emulator.build("client-vpc", &[]);
    let client = client_of(&layout);
    let table = str_of(&client["route_tables"][0]);
    let (tgw_a, _) = layout.gateway_in(TOKYO);
    forget_client(&layout, &client);
    emulator.aws(
        TOKYO,
        &[
            "delete-route",
            "--route-table-id",
            &table,
            "--destination-cidr-block",
            "172.16.0.1/32",
        ],
    );
    use_examples(&layout, &["client-vpc-routes.lua"]);
    let spec = format!("{TOKYO}/{}/{table}", str_of(&client["vpc"]));

    let run = tgw_vip_env(
        &emulator,
        &layout.conf,
        &["--server", B, "start"],
        &[("TGW_VIP_CLIENT_TABLES", &spec)],
    );

    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(target_in(&routes(&emulator, &layout), &table), tgw_a);
}

/// A directory with a stand-in `clplogcmd` that appends its arguments,
/// one per line, to `record`.
fn fake_clplogcmd(dir: &Path, record: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;

    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("clplogcmd");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor arg in \"$@\"; do echo \"$arg\" >> '{}'; done\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn example_clusterpro_alert() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let record = layout.dir.join("clplogcmd.txt");
    let path = fake_clplogcmd(&layout.dir, &record);
    use_examples(&layout, &["clusterpro-alert.lua"]);

    let run = tgw_vip_env(
        &emulator,
        &layout.conf,
        &["--server", A, "start"],
        &[("PATH", &path)],
    );

    assert_eq!(run.code, 0, "{run:?}");
    let args = std::fs::read_to_string(&record).expect("clplogcmd was not called");
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(args[0], "-m", "{args:?}");
    assert!(
        args[1].contains("routes to server-a.test.local"),
        "{args:?}"
    );
    assert_eq!(&args[2..], ["--alert", "-l", "INFO"], "{args:?}");
}

/// Accepts one HTTP request on 127.0.0.1 and sends its body back.
fn webhook_server() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/notify",
        listener.local_addr().unwrap().port()
    );
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let read = stream.read(&mut buffer).unwrap_or(0);
            request.extend_from_slice(&buffer[..read]);
            let text = String::from_utf8_lossy(&request).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if body.len() >= length || read == 0 {
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    let _ = sender.send(body.to_string());
                    return;
                }
            }
            if read == 0 {
                return;
            }
        }
    });
    (url, receiver)
}

#[test]
fn example_webhook() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let (url, received) = webhook_server();
    use_examples(&layout, &["webhook.lua"]);

    let run = tgw_vip_env(
        &emulator,
        &layout.conf,
        &["--server", A, "start"],
        &[("TGW_VIP_WEBHOOK_URL", &url), ("CLP_EVENT", "START")],
    );

    assert_eq!(run.code, 0, "{run:?}");
    let body = received
        .recv_timeout(Duration::from_secs(10))
        .expect("no webhook request");
    let body: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(body["server"], A);
    assert_eq!(body["event"], "START");
    assert_eq!(body["exit_code"], 0);
    assert_eq!(body["vips"][0], "172.16.0.1");
}

#[test]
fn example_monitor_policy() {
    let emulator = Emulator::start();
    let layout = emulator.build("client-vpc", &[]);
    let client = client_of(&layout);
    let client_table = str_of(&client["route_tables"][0]);
    let (tgw_a, _) = layout.gateway_in(TOKYO);
    let client_vpc = str_of(&client["vpc"]);
    layout.append_config(&format!(
        "vpcs:\n  {client_vpc}:\n    routeTables: [{client_table}]\n"
    ));
    tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);
    use_examples(&layout, &["monitor-client-repair.lua"]);

    let repoint = |region: &str, table: &str, eni: &str| {
        emulator.aws(
            region,
            &[
                "replace-route",
                "--route-table-id",
                table,
                "--destination-cidr-block",
                "172.16.0.1/32",
                "--network-interface-id",
                eni,
            ],
        );
    };
    emulator.aws(
        TOKYO,
        &[
            "delete-route",
            "--route-table-id",
            &client_table,
            "--destination-cidr-block",
            "172.16.0.1/32",
        ],
    );
    let run = tgw_vip(
        &emulator,
        &layout.conf,
        &["--server", A, "--output", "json", "monitor"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("\"hook_decision\": \"repair\""),
        "{run:?}"
    );
    assert_eq!(target_in(&routes(&emulator, &layout), &client_table), tgw_a);

    let server_table = str_of(&layout.server(B)["route_tables"][0]);
    let eni_b = str_of(&layout.server(B)["eni"]);
    repoint(SINGAPORE, &server_table, &eni_b);
    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "monitor"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(target_in(&routes(&emulator, &layout), &server_table), eni_b);
}
