//! Operator commands against the emulator: plan, status, check,
//! iam-policy, generated completions and man page, messages in English and
//! Japanese, and the cluster integration scripts in examples/.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{root, test_env, tgw_vip, tgw_vip_env, tgw_vip_no_vip, Emulator, Run};

const A: &str = "server-a.test.local";
const B: &str = "server-b.test.local";
const JA: &[(&str, &str)] = &[("LANG", "ja_JP.UTF-8")];

fn start(emulator: &Emulator, conf: &Path, server: &str) {
    let run = tgw_vip(emulator, conf, &["--server", server, "start"]);
    assert_eq!(run.code, 0, "{run:?}");
}

fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|err| panic!("{err}: {run:?}"))
}

#[test]
fn plan_lists_changes_without_writing() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    start(&emulator, &layout.conf, A);
    emulator.reset_counters();

    let run = tgw_vip(&emulator, &layout.conf, &["--server", B, "plan"]);
    let json = tgw_vip(
        &emulator,
        &layout.conf,
        &["--server", B, "--output", "json", "plan"],
    );

    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(emulator.writes(), 0, "{}", emulator.counters());
    assert!(run.stdout.contains("route(s) would change"), "{run:?}");
    let changes = json_of(&json)["changes"].as_array().unwrap().clone();
    let replace = changes.iter().filter(|c| c["action"] == "replace").count();
    assert!(replace >= 4, "{changes:?}");
}

#[test]
fn status_verdict_in_both_languages() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    start(&emulator, &layout.conf, A);

    let en = tgw_vip(&emulator, &layout.conf, &["status"]);
    let ja = tgw_vip_env(&emulator, &layout.conf, &["status"], JA);
    let json = tgw_vip(&emulator, &layout.conf, &["--output", "json", "status"]);

    assert_eq!(en.code, 0, "{en:?}");
    assert!(en.stdout.contains(&format!("routes to {A}")), "{en:?}");
    assert!(en.stdout.contains("ROUTE TABLE"), "{en:?}");
    assert!(ja.stdout.contains("にルーティングされています"), "{ja:?}");
    assert!(ja.stdout.contains("ルートテーブル"), "{ja:?}");
    let json = json_of(&json);
    assert_eq!(json["command"], "status");
    assert_eq!(json["verdict"]["verdict"], "routed_to");
    assert_eq!(json["verdict"]["server"], A);
    assert!(json["rows"].as_array().unwrap().len() >= 4, "{json}");
}

#[test]
fn status_inconsistent_after_manual_change() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    start(&emulator, &layout.conf, A);
    let (_, table) = layout.gateway_in("ap-northeast-1");
    // Only the Tokyo TGW route moves to the peering, as if for server B.
    let target = layout.ids["peerings"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    emulator.aws(
        "ap-northeast-1",
        &[
            "replace-transit-gateway-route",
            "--transit-gateway-route-table-id",
            &table,
            "--destination-cidr-block",
            "172.16.0.1/32",
            "--transit-gateway-attachment-id",
            &target,
        ],
    );

    let run = tgw_vip(&emulator, &layout.conf, &["--output", "json", "status"]);

    assert_eq!(
        json_of(&run)["verdict"]["verdict"],
        "inconsistent",
        "{run:?}"
    );
}

#[test]
fn start_and_monitor_messages_in_both_languages() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);

    let start_en = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);
    let start_ja = tgw_vip_env(&emulator, &layout.conf, &["--server", A, "start"], JA);
    let healthy_en = tgw_vip(&emulator, &layout.conf, &["--server", A, "monitor"]);
    let healthy_ja = tgw_vip_env(&emulator, &layout.conf, &["--server", A, "monitor"], JA);
    start(&emulator, &layout.conf, B);
    let drift_en = tgw_vip(&emulator, &layout.conf, &["--server", A, "monitor"]);
    let drift_ja = tgw_vip_env(&emulator, &layout.conf, &["--server", A, "monitor"], JA);

    assert!(start_en.stdout.contains("changed,"), "{start_en:?}");
    assert!(start_ja.stdout.contains("経路"), "{start_ja:?}");
    assert!(start_ja.stdout.contains("変更なし"), "{start_ja:?}");
    assert!(healthy_en.stdout.starts_with("OK: all"), "{healthy_en:?}");
    assert!(healthy_ja.stdout.contains("正常"), "{healthy_ja:?}");
    assert_eq!(drift_en.code, 1, "{drift_en:?}");
    assert!(drift_en.stdout.contains("DRIFT"), "{drift_en:?}");
    assert_eq!(drift_ja.code, 1, "{drift_ja:?}");
    assert!(drift_ja.stdout.contains("不一致"), "{drift_ja:?}");
}

#[test]
fn config_error_in_both_languages() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    layout.append_config("\nmonitr: {repair: true}\n");

    let en = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);
    let ja = tgw_vip_env(&emulator, &layout.conf, &["--server", A, "start"], JA);

    assert_eq!(en.code, 2, "{en:?}");
    assert!(en.stderr.contains("unknown key `monitr`"), "{en:?}");
    assert!(en.stderr.contains("did you mean `monitor`"), "{en:?}");
    assert_eq!(ja.code, 2, "{ja:?}");
    assert!(ja.stderr.contains("不明なキー"), "{ja:?}");
    assert_eq!(emulator.writes(), 0);

    let args = ["--server", A, "--output", "json", "start"];
    let json = json_of(&tgw_vip(&emulator, &layout.conf, &args));
    assert_eq!(json["command"], "start", "{json}");
    assert_eq!(json["exit_code"], 2, "{json}");
    assert_eq!(json["error"]["kind"], "config", "{json}");
    assert_eq!(json["error"]["key"], "monitr", "{json}");
}

#[test]
fn help_and_usage_errors_in_both_languages() {
    let run_with = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = crate::support::tgw_vip_command();
        command.args(args).envs(env.iter().copied());
        crate::support::run(command)
    };

    let en = run_with(&["--help"], &[]);
    let ja = run_with(&["--help"], JA);
    let ja_start = run_with(&["--lang", "ja", "start", "--help"], &[]);
    assert_eq!((en.code, ja.code, ja_start.code), (0, 0, 0), "{ja:?}");
    assert!(en.stdout.contains("Usage: tgw-vip"), "{en:?}");
    assert!(ja.stdout.contains("使い方: tgw-vip"), "{ja:?}");
    assert!(ja.stdout.contains("終了コード"), "{ja:?}");
    assert!(
        ja_start.stdout.contains("クラスターの開始処理"),
        "{ja_start:?}"
    );

    let typo = run_with(&["strat"], JA);
    assert_eq!(typo.code, 2, "{typo:?}");
    assert!(
        typo.stderr.contains("コマンドラインが正しくありません"),
        "{typo:?}"
    );
    assert!(typo.stderr.contains("'start'"), "{typo:?}");
    assert!(typo.stderr.contains("tgw-vip --help"), "{typo:?}");
}

#[test]
fn server_flag_matches_like_host_name() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);

    for name in ["SERVER-A.TEST.LOCAL", "server-a"] {
        let run = tgw_vip(&emulator, &layout.conf, &["--server", name, "plan"]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stdout.contains(A), "{run:?}");
    }
    let run = tgw_vip(&emulator, &layout.conf, &["--server", "server-c", "plan"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("give --server one of"), "{run:?}");
    assert!(run.stderr.contains(B), "{run:?}");
}

#[test]
fn check_passes_on_reference_layout() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    emulator.reset_counters();

    let run = tgw_vip(&emulator, &layout.conf, &["check"]);
    let json = json_of(&tgw_vip(
        &emulator,
        &layout.conf,
        &["--output", "json", "check"],
    ));

    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("OK: every id exists"), "{run:?}");
    assert_eq!(emulator.writes(), 0, "{}", emulator.counters());
    assert!(emulator.counters()["dry_runs"].as_u64().unwrap() >= 4);
    let resources = json["resources"].as_array().unwrap();
    assert!(resources.iter().all(|r| r["result"] == "exists"), "{json}");
    let actions: Vec<&str> = json["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["action"].as_str().unwrap())
        .collect();
    for action in [
        "ec2:ReplaceRoute",
        "ec2:ReplaceTransitGatewayRoute",
        "ec2:CreateTransitGatewayRoute",
    ] {
        assert!(actions.contains(&action), "{action} not probed: {json}");
    }
}

#[test]
fn check_names_denied_action() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    emulator.faults(r#"{"deny": ["ReplaceTransitGatewayRoute"]}"#);

    let run = tgw_vip(&emulator, &layout.conf, &["check"]);
    let ja = tgw_vip_env(&emulator, &layout.conf, &["check"], JA);
    let json = json_of(&tgw_vip(
        &emulator,
        &layout.conf,
        &["--output", "json", "check"],
    ));

    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("missing IAM actions: ec2:ReplaceTransitGatewayRoute"),
        "{run:?}"
    );
    assert!(ja.stdout.contains("不足している IAM アクション"), "{ja:?}");
    assert_eq!(
        json["missing_actions"],
        serde_json::json!(["ec2:ReplaceTransitGatewayRoute"])
    );
}

#[test]
fn check_reports_unknown_id() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let (_, table) = layout.gateway_in("ap-northeast-1");
    let text = std::fs::read_to_string(&layout.conf).unwrap();
    let missing = "tgw-rtb-0123456789abcdef0";
    std::fs::write(&layout.conf, text.replace(&table, missing)).unwrap();

    let run = tgw_vip(&emulator, &layout.conf, &["--output", "json", "check"]);

    assert_eq!(run.code, 1, "{run:?}");
    let json = json_of(&run);
    let entry = json["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == missing)
        .cloned()
        .unwrap_or_default();
    assert_eq!(entry["result"], "not_found", "{json}");
}

#[test]
fn check_exits_3_when_aws_unreachable() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    // A loopback port with no listener: the connection is refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);

    let run = tgw_vip_env(
        &emulator,
        &layout.conf,
        &["--timeout", "5", "check"],
        &[("AWS_ENDPOINT_URL", &url)],
    );

    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.contains("could not be looked up"), "{run:?}");
    assert!(
        !run.stdout.contains("correct them in the config"),
        "{run:?}"
    );
}

#[test]
fn check_reports_vpc_without_vip_route() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let args = ["--vip", "172.16.0.9", "--output", "json", "check"];

    let run = tgw_vip_no_vip(&emulator, &layout.conf, &args, &[]);

    assert_eq!(run.code, 1, "{run:?}");
    let json = json_of(&run);
    let mut vpcs: Vec<&str> = json["unrouted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["vpc"].as_str().unwrap())
        .collect();
    vpcs.sort();
    let mut expected = vec![
        layout.server(A)["vpc"].as_str().unwrap(),
        layout.server(B)["vpc"].as_str().unwrap(),
    ];
    expected.sort();
    assert_eq!(vpcs, expected, "{json}");
    assert_eq!(emulator.writes(), 0);
}

#[test]
fn check_skips_eni_read_from_metadata() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let eni = layout.server(A)["eni"].as_str().unwrap().to_string();
    let text = std::fs::read_to_string(&layout.conf).unwrap();
    std::fs::write(&layout.conf, text.replace(&eni, "auto")).unwrap();

    let run = tgw_vip(&emulator, &layout.conf, &["check"]);

    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("auto"), "{run:?}");
}

#[test]
fn check_reports_swapped_attachments() {
    let emulator = Emulator::start();
    let layout = emulator.build("client-vpc", &[]);
    let server = layout.server(A);
    let client = layout.ids["client_vpcs"]
        .as_object()
        .and_then(|m| m.values().next())
        .expect("a client VPC in ids.json")
        .clone();
    let server_attachment = server["attachment"].as_str().unwrap().to_string();
    let client_attachment = client["attachment"].as_str().unwrap().to_string();
    let text = std::fs::read_to_string(&layout.conf).unwrap();
    let swapped = text
        .replace(&server_attachment, "SWAP")
        .replace(&client_attachment, &server_attachment)
        .replace("SWAP", &client_attachment);
    std::fs::write(&layout.conf, swapped).unwrap();

    let run = tgw_vip(&emulator, &layout.conf, &["--output", "json", "check"]);

    assert_eq!(run.code, 1, "{run:?}");
    let json = json_of(&run);
    let entry = json["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == server_attachment.as_str())
        .cloned()
        .unwrap_or_default();
    assert_eq!(entry["result"], "wrong_parent", "{json}");
    assert_eq!(entry["actual"], server["vpc"], "{json}");
}

#[test]
fn iam_policy_scopes_resources() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let (_, tgw_table) = layout.gateway_in("ap-northeast-1");

    let run = tgw_vip(
        &emulator,
        &layout.conf,
        &["iam-policy", "--account", "123456789012"],
    );
    let any = tgw_vip(&emulator, &layout.conf, &["iam-policy"]);
    let bad = tgw_vip(
        &emulator,
        &layout.conf,
        &["iam-policy", "--account", "12ab"],
    );

    assert_eq!(run.code, 0, "{run:?}");
    let policy = json_of(&run);
    assert_eq!(policy["Version"], "2012-10-17");
    let statements = policy["Statement"].as_array().unwrap();
    let by_sid = |sid: &str| {
        statements
            .iter()
            .find(|s| s["Sid"] == sid)
            .cloned()
            .unwrap_or_else(|| panic!("no statement {sid}: {policy}"))
    };
    assert_eq!(by_sid("ReadRoutes")["Resource"], "*");
    let eni = by_sid("ReadSourceDestCheck");
    let read_eni = serde_json::json!(["ec2:DescribeNetworkInterfaceAttribute"]);
    assert_eq!(eni["Action"], read_eni, "{eni}");
    let tgw = by_sid("WriteTransitGatewayRoutes");
    let arn =
        format!("arn:aws:ec2:ap-northeast-1:123456789012:transit-gateway-route-table/{tgw_table}");
    assert!(
        tgw["Resource"]
            .as_array()
            .unwrap()
            .contains(&Value::from(arn)),
        "{tgw}"
    );
    let vpc = by_sid("ReplaceVipRoutesInManagedVpcs");
    assert_eq!(vpc["Action"], serde_json::json!(["ec2:ReplaceRoute"]));
    assert!(vpc["Condition"]["ArnEquals"]["ec2:Vpc"].is_array(), "{vpc}");
    assert!(
        any.stdout.contains("arn:aws:ec2:ap-northeast-1:*:"),
        "{any:?}"
    );
    assert_eq!(bad.code, 2, "{bad:?}");
}

#[test]
fn completions_and_man_are_generated() {
    let binary = env!("CARGO_BIN_EXE_tgw-vip");
    for args in [
        &["completions", "bash"][..],
        &["completions", "powershell"],
        &["man"],
    ] {
        let output = Command::new(binary).args(args).output().unwrap();

        assert!(output.status.success(), "{args:?}");
        assert!(output.stdout.len() > 500, "{args:?} printed too little");
    }
}

/// Runs the OCF agent in examples/pacemaker with OCF_RESKEY_* parameters.
fn ocf(emulator: &Emulator, conf: &Path, action: &str, server: &str) -> Run {
    let output = Command::new("sh")
        .arg(root().join("examples/pacemaker/tgw-vip"))
        .arg(action)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(test_env())
        .env("AWS_ENDPOINT_URL", emulator.url())
        .env("OCF_RESKEY_binary", env!("CARGO_BIN_EXE_tgw-vip"))
        .env("OCF_RESKEY_vip", "172.16.0.1")
        .env("OCF_RESKEY_config", conf)
        .env("OCF_RESKEY_server", server)
        .env("OCF_RESKEY_timeout", "20")
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn ocf_agent_maps_exit_codes() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);

    let meta = ocf(&emulator, &layout.conf, "meta-data", A);
    let valid = ocf(&emulator, &layout.conf, "validate-all", A);
    let started = ocf(&emulator, &layout.conf, "start", A);
    let running = ocf(&emulator, &layout.conf, "monitor", A);
    let elsewhere = ocf(&emulator, &layout.conf, "monitor", B);
    let stopped = ocf(&emulator, &layout.conf, "stop", A);

    assert_eq!(meta.code, 0, "{meta:?}");
    for parameter in ["vip", "config", "server", "timeout"] {
        let tag = format!("<parameter name=\"{parameter}\"");
        assert!(meta.stdout.contains(&tag), "{parameter}: {meta:?}");
    }
    assert_eq!(valid.code, 0, "{valid:?}");
    assert_eq!(started.code, 0, "{started:?}");
    assert_eq!(running.code, 0, "{running:?}");
    assert_eq!(elsewhere.code, 7, "OCF_NOT_RUNNING expected: {elsewhere:?}");
    assert_eq!(stopped.code, 0, "{stopped:?}");
}

#[test]
fn ocf_agent_reports_bad_config() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    layout.append_config("\nbogus: 1\n");

    let valid = ocf(&emulator, &layout.conf, "validate-all", A);
    let started = ocf(&emulator, &layout.conf, "start", A);
    let stopped = ocf(&emulator, &layout.conf, "stop", A);

    assert_eq!(valid.code, 6, "OCF_ERR_CONFIGURED expected: {valid:?}");
    assert_eq!(started.code, 6, "OCF_ERR_CONFIGURED expected: {started:?}");
    assert_eq!(
        stopped.code, 0,
        "a failed stop gets the node fenced: {stopped:?}"
    );
    assert_eq!(emulator.writes(), 0);
}

#[test]
fn keepalived_master_runs_start() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let script = root().join("examples/keepalived/tgw-vip-notify.sh");
    let notify = |state: &str| {
        Command::new("sh")
            .arg(&script)
            .args(["INSTANCE", "VI_1", state, "100"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(test_env())
            .env("AWS_ENDPOINT_URL", emulator.url())
            .env("TGW_VIP", env!("CARGO_BIN_EXE_tgw-vip"))
            .env("CONFIG", &layout.conf)
            .env("SERVER", B)
            .output()
            .unwrap()
            .status
    };

    let backup = notify("BACKUP");
    let writes_after_backup = emulator.writes();
    let master = notify("MASTER");
    let monitor = tgw_vip(&emulator, &layout.conf, &["--server", B, "monitor"]);

    assert!(backup.success());
    assert_eq!(writes_after_backup, 0);
    assert!(master.success());
    assert_eq!(monitor.code, 0, "{monitor:?}");
}
