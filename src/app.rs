//! Process setup around a command: language, logging, the runtime, the
//! overall deadline, printing the report or the error, and the exit code.

use std::io::Write as _;
use std::time::Duration;

use clap::FromArgMatches;
use tokio::time::Instant;

use crate::aws::ErrorKind;
use crate::cli::{Cli, Command, OutputFormat};
use crate::commands::{self, CommandError};
use crate::messages as msg;
use crate::{report, ExitStatus};

/// Grace after the deadline for printing the report before the command is
/// cut short. Calls themselves stop at the deadline.
const REPORT_GRACE: Duration = Duration::from_millis(500);

/// Runs the command line of this process and returns its exit code.
pub fn main() -> i32 {
    let started = std::time::Instant::now();
    install_panic_hook();
    // The language is settled before parsing, so that --help and usage
    // errors use it too.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let lang = msg::resolve(crate::cli::lang_in_args(&args).as_deref());
    msg::init(Some(lang));

    let parsed = crate::cli::command(lang)
        .try_get_matches_from(&args)
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(err) => {
            print_usage_error(&err, lang);
            return if err.use_stderr() {
                ExitStatus::Usage.code()
            } else {
                ExitStatus::Success.code()
            };
        }
    };

    init_logging(cli.verbose);
    if let Some(status) = crate::generate::run(&cli) {
        return status.code();
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            print_error(&msg::internal_error(&err.to_string()), None);
            return ExitStatus::Failed.code();
        }
    };
    let status = runtime.block_on(run(&cli, started));
    // Tasks still waiting on a region that does not respond must not keep
    // the process alive past its deadline.
    runtime.shutdown_timeout(Duration::from_millis(100));
    status.code()
}

async fn run(cli: &Cli, started: std::time::Instant) -> ExitStatus {
    let started = Instant::from_std(started);
    let limit = Duration::from_secs_f64(cli.timeout.clamp(0.001, 86_400.0)) + REPORT_GRACE;
    let result = tokio::time::timeout(limit, commands::run(cli, started)).await;

    match result {
        Err(_) => {
            print_error(&msg::deadline_command(cli.timeout), None);
            ExitStatus::AwsUnavailable
        }
        // A failed stop makes CLUSTERPRO run its final action, such as a
        // shutdown, and stop changes nothing anyway: a config problem is
        // shown as a warning and stop still succeeds.
        Ok(Err(err)) if cli.command == Command::Stop => {
            report_problem(&err, &msg::warning_prefix());
            let server = cli.server.clone().unwrap_or_else(crate::hostnames::primary);
            print_report(cli, &commands::Report::Stop { server })
        }
        Ok(Err(err)) => {
            report_error(&err);
            if cli.output == OutputFormat::Json {
                let name = cli.command.name();
                let text = report::render_json_error(name, &err);
                let _ = std::io::stdout().lock().write_all(text.as_bytes());
            }
            err.status()
        }
        Ok(Ok(report)) => print_report(cli, &report),
    }
}

fn print_report(cli: &Cli, report: &commands::Report) -> ExitStatus {
    let text = match cli.output {
        OutputFormat::Text => report::render_text(report),
        OutputFormat::Json => report::render_json(report),
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    report.status()
}

fn report_error(err: &CommandError) {
    report_problem(err, &msg::error_prefix());
}

/// Prints a command error on standard error, each line led by `prefix`
/// (`error` or `warning` in the chosen language).
fn report_problem(err: &CommandError, prefix: &str) {
    match err {
        CommandError::Config(config) => {
            let file = config.file.display().to_string();
            let location = match (config.line, config.key.is_empty()) {
                (Some(line), false) => Some(msg::location_line(&file, line, &config.key)),
                (Some(line), true) => Some(msg::location_file_line(&file, line)),
                (None, false) => Some(msg::location_key(&file, &config.key)),
                (None, true) => None,
            };
            let message = match location {
                Some(location) => format!("{}\n  {location}", config.message),
                None => config.message.clone(),
            };
            print_with(prefix, &message, config.hint.as_deref());
        }
        CommandError::Usage { message, hint } => print_with(prefix, message, hint.as_deref()),
        CommandError::Hook { error, .. } => {
            print_with(prefix, &error.message, error.hint.as_deref())
        }
        CommandError::Aws(error) => {
            let hint = match error.kind {
                _ if error.operation == crate::imds::OPERATION => msg::hint_imds_unreachable(),
                ErrorKind::Credentials => msg::hint_credentials(),
                ErrorKind::Unauthorized => msg::hint_unauthorized(),
                _ => msg::hint_aws_unreachable(),
            };
            if error.operation == crate::imds::OPERATION {
                let text = msg::imds_failed(&error.resource, &error.code, &error.message);
                print_with(prefix, &text, Some(&hint));
                return;
            }
            if error.operation == crate::aws::RESOLVE_CREDENTIALS {
                let text = msg::credentials_missing(&error.resource, &error.message);
                print_with(prefix, &text, Some(&hint));
                return;
            }
            let text = msg::aws_failed(
                &error.operation,
                &error.resource,
                &error.region,
                &error.code,
                &error.message,
            );
            print_with(prefix, &text, Some(&hint));
        }
    }
}

/// Prints clap's help, version or usage error. In Japanese, a usage error
/// is framed in Japanese around clap's English detail.
fn print_usage_error(err: &clap::Error, lang: &str) {
    if lang != "ja" || !err.use_stderr() {
        let _ = err.print();
        return;
    }

    // clap's text: the error line, indented details such as the possible
    // values or a spelling tip, then the usage line and a pointer to --help.
    let rendered = err.render().to_string();
    let detail: Vec<&str> = rendered
        .lines()
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more"))
        .map(|line| line.trim().trim_start_matches("error: "))
        .filter(|line| !line.is_empty())
        .collect();
    print_error(
        &msg::usage_invalid(&detail.join("\n  ")),
        Some(&msg::hint_usage()),
    );
}

fn print_error(message: &str, hint: Option<&str>) {
    print_with(&msg::error_prefix(), message, hint);
}

fn print_with(prefix: &str, message: &str, hint: Option<&str>) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{prefix}: {message}");
    if let Some(hint) = hint {
        let _ = writeln!(stderr, "{}: {hint}", msg::hint_prefix());
    }
}

/// Sends logs to standard error. Warnings show by default; -v adds info,
/// -vv debug, -vvv trace; RUST_LOG replaces the filter entirely.
fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;

    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let default = if verbose >= 3 {
        level.to_string()
    } else {
        format!("{level},tgw_vip={level},aws_smithy_runtime=warn,aws_config=warn,hyper=warn")
    };
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Replaces Rust's panic text with a short localized message and exit
/// code 1, so a bug never shows a backtrace to an operator.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let detail = info.to_string();
        print_error(&msg::internal_error(&detail), None);
        std::process::exit(ExitStatus::Failed.code());
    }));
}
