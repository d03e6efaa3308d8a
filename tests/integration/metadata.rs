//! `eni: auto` against a fake IMDSv2 service on 127.0.0.1, and the
//! source/destination check warning.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::support::{routes, target_in, tgw_vip_env, Emulator, Layout};

const A: &str = "server-a.test.local";
const TOKYO: &str = "ap-northeast-1";
const MAC: &str = "0e:aa:bb:cc:dd:ee";
const TOKEN: &str = "fake-token";

/// How the fake metadata service behaves.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Returns `eni` after a token PUT.
    Normal,
    /// Returns 401 to the first GET, then works.
    RejectFirstGet,
    /// Accepts connections and never responds.
    Silent,
    /// Returns an empty interface id.
    Empty,
}

/// Starts the fake service and returns its URL and the count of GETs that
/// carried the issued token.
fn fake_imds(mode: Mode, eni: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let authorized = Arc::new(AtomicUsize::new(0));
    let counter = authorized.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        let gets = AtomicUsize::new(0);
        for stream in listener.incoming().flatten() {
            if mode == Mode::Silent {
                held.push(stream);
                continue;
            }
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push(line.trim_end().to_string());
            }
            let request = head.first().cloned().unwrap_or_default();
            let header = |name: &str| {
                head.iter()
                    .find(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
                    .map(|l| l.split_once(':').unwrap().1.trim().to_string())
            };
            let mut extra = String::new();
            let (status, body) = if request.starts_with("PUT /latest/api/token") {
                match header("x-aws-ec2-metadata-token-ttl-seconds") {
                    Some(ttl) => {
                        extra = format!("X-aws-ec2-metadata-token-ttl-seconds: {ttl}\r\n");
                        ("200 OK", TOKEN.to_string())
                    }
                    None => ("400 Bad Request", String::new()),
                }
            } else if header("x-aws-ec2-metadata-token").as_deref() != Some(TOKEN)
                || (mode == Mode::RejectFirstGet && gets.fetch_add(1, Ordering::SeqCst) == 0)
            {
                // A missing token, or the first GET in the refresh case.
                ("401 Unauthorized", String::new())
            } else {
                counter.fetch_add(1, Ordering::SeqCst);
                let path = request.split(' ').nth(1).unwrap_or_default();
                if path == "/latest/meta-data/mac" {
                    ("200 OK", MAC.to_string())
                } else if path
                    == format!("/latest/meta-data/network/interfaces/macs/{MAC}/interface-id")
                {
                    let answer = if mode == Mode::Empty {
                        String::new()
                    } else {
                        eni.clone()
                    };
                    ("200 OK", answer)
                } else {
                    ("404 Not Found", String::new())
                }
            };
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, authorized)
}

/// A reference layout whose server A has `eni: auto`.
fn auto_layout(emulator: &Emulator) -> Layout {
    let layout = emulator.build("reference", &["--no-eni"]);
    let vpc = layout.server(A)["vpc"].as_str().unwrap().to_string();
    let text = std::fs::read_to_string(&layout.conf).unwrap();
    let text = text.replace(
        &format!("{{vpc: {vpc}}}"),
        &format!("{{vpc: {vpc}, eni: auto}}"),
    );
    std::fs::write(&layout.conf, text).unwrap();
    layout.append_config("aws:\n  connectTimeout: 1\n  callTimeout: 1\n");
    layout
}

fn eni_of(layout: &Layout) -> String {
    layout.server(A)["eni"].as_str().unwrap().to_string()
}

fn first_table(layout: &Layout) -> String {
    layout.server(A)["route_tables"][0]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn auto_eni_is_discovered() {
    let emulator = Emulator::start();
    let layout = auto_layout(&emulator);
    let (url, authorized) = fake_imds(Mode::Normal, eni_of(&layout));
    let env = [("AWS_EC2_METADATA_SERVICE_ENDPOINT", url.as_str())];

    let run = tgw_vip_env(&emulator, &layout.conf, &["--server", A, "start"], &env);

    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        authorized.load(Ordering::SeqCst),
        2,
        "two GETs with the token"
    );
    let rows = routes(&emulator, &layout);
    assert_eq!(target_in(&rows, &first_table(&layout)), eni_of(&layout));
    let run = tgw_vip_env(&emulator, &layout.conf, &["--server", A, "monitor"], &env);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn auto_eni_from_config_endpoint() {
    let emulator = Emulator::start();
    let layout = auto_layout(&emulator);
    let (url, _) = fake_imds(Mode::Normal, eni_of(&layout));
    let text = std::fs::read_to_string(&layout.conf).unwrap();
    std::fs::write(
        &layout.conf,
        text.replace("aws:\n", &format!("aws:\n  imdsEndpoint: {url}\n")),
    )
    .unwrap();

    let run = tgw_vip_env(&emulator, &layout.conf, &["--server", A, "start"], &[]);

    assert_eq!(run.code, 0, "{run:?}");
    let rows = routes(&emulator, &layout);
    assert_eq!(target_in(&rows, &first_table(&layout)), eni_of(&layout));
}

#[test]
fn auto_eni_refreshes_token_after_401() {
    let emulator = Emulator::start();
    let layout = auto_layout(&emulator);
    let (url, authorized) = fake_imds(Mode::RejectFirstGet, eni_of(&layout));
    let env = [("AWS_EC2_METADATA_SERVICE_ENDPOINT", url.as_str())];

    let run = tgw_vip_env(&emulator, &layout.conf, &["--server", A, "start"], &env);

    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(authorized.load(Ordering::SeqCst), 2);
}

#[test]
fn auto_eni_silent_service_times_out() {
    let emulator = Emulator::start();
    let layout = auto_layout(&emulator);
    let (url, _) = fake_imds(Mode::Silent, String::new());
    let env = [("AWS_EC2_METADATA_SERVICE_ENDPOINT", url.as_str())];
    emulator.reset_counters();

    let run = tgw_vip_env(
        &emulator,
        &layout.conf,
        &["--server", A, "--timeout", "20", "start"],
        &env,
    );

    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("instance metadata request"), "{run:?}");
    assert!(!run.stderr.contains("FailedToLoadToken("), "{run:?}");
    assert_eq!(emulator.writes(), 0);
}

#[test]
fn auto_eni_empty_answer_exits_two() {
    let emulator = Emulator::start();
    let layout = auto_layout(&emulator);
    let (url, _) = fake_imds(Mode::Empty, String::new());
    let env = [("AWS_EC2_METADATA_SERVICE_ENDPOINT", url.as_str())];

    let run = tgw_vip_env(&emulator, &layout.conf, &["--server", A, "start"], &env);

    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("interface-id"), "{run:?}");
    assert!(
        run.stderr.contains("servers.server-a.test.local.eni"),
        "{run:?}"
    );
}

#[test]
fn source_dest_check_on_warns() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let eni = eni_of(&layout);
    emulator.aws(
        TOKYO,
        &[
            "modify-network-interface-attribute",
            "--network-interface-id",
            &eni,
            "--source-dest-check",
        ],
    );

    for command in ["start", "monitor"] {
        let run = tgw_vip_env(&emulator, &layout.conf, &["--server", A, command], &[]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stdout.contains("source/destination check is on"),
            "{run:?}"
        );
        assert!(run.stdout.contains(&eni), "{run:?}");
    }

    emulator.aws(
        TOKYO,
        &[
            "modify-network-interface-attribute",
            "--network-interface-id",
            &eni,
            "--no-source-dest-check",
        ],
    );
    let run = tgw_vip_env(&emulator, &layout.conf, &["--server", A, "monitor"], &[]);
    assert!(!run.stdout.contains("source/destination check"), "{run:?}");
}
