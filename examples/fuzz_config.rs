//! A mutation fuzzer for the config loader that runs on the stable toolchain.
//!
//! It starts from the files in tests/configs/invalid and examples, mutates
//! them with a seeded random generator, and passes each result to
//! `config::parse` and then `topology::Topology::build`. Invalid input must
//! come back as a `ConfigError`; a panic is a bug, and the input that caused
//! it is written to the crash directory.
//!
//! Usage:
//!   cargo run --release --example fuzz_config -- --seconds 60 [--seed N] [--crashes DIR]
//!
//! The exit code is 0 when no input panicked and 1 otherwise.
//! NOTE: a stack overflow aborts the process and cannot be caught here.
//! The loader relies on serde_yaml's recursion limit to prevent one.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tgw_vip::config;
use tgw_vip::topology::Topology;
use tgw_vip::vip::Vip;

/// Fragments that often reach new paths in a YAML parser or in the checks.
const TOKENS: &[&str] = &[
    ":",
    ": ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "- ",
    "\n",
    "\r\n",
    "  ",
    "\t",
    "\"",
    "'",
    "#",
    "&a ",
    "*a",
    "!!str ",
    "!!binary ",
    "? ",
    "|\n",
    ">\n",
    "~",
    "null",
    "true",
    "yes",
    "0x1F",
    "1e999",
    "-1",
    "4294967296",
    "\u{feff}",
    "\u{3000}",
    "\u{1F600}",
    "\\",
    "---\n",
    "...\n",
    "<<: *a\n",
    "tgw-",
    "tgw-rtb-",
    "tgw-attach-",
    "vpc-",
    "eni-",
    "rtb-",
    "aaaaaaaa",
    "servers",
    "gateways",
    "vpcs",
    "vips",
    "aws",
    "start",
    "monitor",
    "hooks",
    "type",
    "region",
    "routeTable",
    "routeTables",
    "attaches",
    "peerings",
    "gateway",
    "cidrs",
    "onApiError",
    "ap-northeast-1",
    "10.0.0.0/16",
    "172.16.0.1",
    "::1",
    "0.0.0.0/0",
    "/33",
];

struct Options {
    seconds: f64,
    seed: u64,
    crashes: PathBuf,
}

fn parse_options() -> Options {
    let mut options = Options {
        seconds: 60.0,
        seed: 1,
        crashes: PathBuf::from("fuzz-crashes"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        let value = value.as_deref();
        match (arg.as_str(), value) {
            ("--seconds", Some(v)) => {
                options.seconds = v.parse().expect("--seconds takes a number")
            }
            ("--seed", Some(v)) => options.seed = v.parse().expect("--seed takes an integer"),
            ("--crashes", Some(v)) => options.crashes = PathBuf::from(v),
            _ => {
                eprintln!("usage: fuzz_config [--seconds N] [--seed N] [--crashes DIR]");
                std::process::exit(2);
            }
        }
    }
    options
}

/// Reads every `.conf` file of the directories as the starting inputs.
fn load_corpus(root: &Path) -> Vec<Vec<u8>> {
    let mut inputs = Vec::new();
    for dir in ["tests/configs/invalid", "examples"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
        paths.sort();
        for path in paths {
            if path.extension().is_some_and(|ext| ext == "conf") {
                inputs.push(std::fs::read(&path).expect("read a corpus file"));
            }
        }
    }
    inputs
}

fn random_range(rng: &mut fastrand::Rng, len: usize) -> (usize, usize) {
    if len == 0 {
        return (0, 0);
    }
    let start = rng.usize(..len);
    let end = (start + rng.usize(1..=64)).min(len);
    (start, end)
}

/// Applies one to four random edits to `input`, using `corpus` for splices.
fn mutate(rng: &mut fastrand::Rng, input: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    for _ in 0..rng.usize(1..=4) {
        let len = input.len();
        match rng.u8(..9) {
            0 if len > 0 => {
                let at = rng.usize(..len);
                input[at] ^= 1 << rng.u8(..8);
            }
            1 => {
                let at = rng.usize(..=len);
                input.insert(at, rng.u8(..));
            }
            2 => {
                let (start, end) = random_range(rng, len);
                input.drain(start..end);
            }
            3 => {
                let (start, end) = random_range(rng, len);
                let copy = input[start..end].to_vec();
                let at = rng.usize(..=input.len());
                input.splice(at..at, copy);
            }
            4 | 5 => {
                let token = TOKENS[rng.usize(..TOKENS.len())].as_bytes();
                let at = rng.usize(..=len);
                input.splice(at..at, token.iter().copied());
            }
            6 => {
                let other = &corpus[rng.usize(..corpus.len())];
                let (start, end) = random_range(rng, other.len());
                let at = rng.usize(..=len);
                input.splice(at..at, other[start..end].iter().copied());
            }
            7 => {
                // Replace one line with a line of another input, keeping
                // the YAML mostly well formed so the later checks run.
                let other = &corpus[rng.usize(..corpus.len())];
                let lines: Vec<&[u8]> = other.split(|b| *b == b'\n').collect();
                let line = lines[rng.usize(..lines.len())];
                let starts: Vec<usize> = std::iter::once(0)
                    .chain(
                        input
                            .iter()
                            .enumerate()
                            .filter(|(_, b)| **b == b'\n')
                            .map(|(i, _)| i + 1),
                    )
                    .collect();
                let start = starts[rng.usize(..starts.len())].min(input.len());
                let end = input[start..]
                    .iter()
                    .position(|b| *b == b'\n')
                    .map_or(input.len(), |p| start + p);
                input.splice(start..end, line.iter().copied());
            }
            _ => {
                let at = rng.usize(..=len);
                input.truncate(at);
            }
        }
    }
}

/// Runs the loader, the topology checks and the VIP checks on one input.
fn exercise(bytes: &[u8]) {
    let Ok(loaded) = config::parse(Path::new("fuzz.conf"), bytes) else {
        return;
    };
    let topology = Topology::build(&loaded);
    for text in &loaded.raw.vips {
        if let Some(vip) = Vip::parse(text) {
            if let Ok(topology) = &topology {
                for vpc in topology.vpcs.values() {
                    for cidr in &vpc.cidrs {
                        let _ = vip.is_inside(cidr);
                    }
                }
            }
        }
    }
}

fn save_crash(dir: &Path, input: &[u8]) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    input.hash(&mut hasher);
    std::fs::create_dir_all(dir).expect("create the crash directory");
    let path = dir.join(format!("crash-{:016x}.conf", hasher.finish()));
    std::fs::write(&path, input).expect("write the crashing input");
    path
}

fn main() {
    let options = parse_options();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = load_corpus(&root);
    assert!(
        !corpus.is_empty(),
        "no .conf files found under {}",
        root.display()
    );

    // The hook records the panic message instead of printing it, so that
    // one report per crashing input is printed below.
    let last_panic: Arc<Mutex<String>> = Arc::default();
    let recorder = Arc::clone(&last_panic);
    panic::set_hook(Box::new(move |info| {
        *recorder.lock().unwrap_or_else(|e| e.into_inner()) = info.to_string();
    }));

    let mut rng = fastrand::Rng::with_seed(options.seed);
    let limit = Duration::from_secs_f64(options.seconds);
    let started = Instant::now();
    let mut executions: u64 = 0;
    let mut crashes = 0;

    // The unmutated corpus runs first, then mutants until the time is up.
    let mut queue = corpus.clone();
    while started.elapsed() < limit {
        let input = queue.pop().unwrap_or_else(|| {
            let mut input = corpus[rng.usize(..corpus.len())].clone();
            mutate(&mut rng, &mut input, &corpus);
            input
        });
        executions += 1;
        if panic::catch_unwind(AssertUnwindSafe(|| exercise(&input))).is_err() {
            crashes += 1;
            let path = save_crash(&options.crashes, &input);
            let message = last_panic.lock().unwrap_or_else(|e| e.into_inner()).clone();
            eprintln!("panic: {message}\n  input saved to {}", path.display());
        }
    }

    let seconds = started.elapsed().as_secs_f64();
    println!(
        "seed {}: {executions} executions in {seconds:.1} s ({:.0}/s), {} corpus files, {crashes} panics",
        options.seed,
        executions as f64 / seconds,
        corpus.len()
    );
    std::process::exit(i32::from(crashes > 0));
}
