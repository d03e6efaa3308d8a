//! The commands: setup shared by all of them, then one function each.
//!
//! Setup loads and validates everything before AWS is contacted, so a bad
//! config or command line exits with code 2 having changed nothing.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::aws::{AwsError, AwsSettings, Ec2};
use crate::check::{self, CheckReport};
use crate::cli::{Cli, Command};
use crate::config::{self, ConfigError, LoadedConfig};
use crate::converge;
use crate::engine::{self, Context, RouteOutcome};
use crate::hooks::{self, Decision, HookError, Hooks};
use crate::hostnames;
use crate::messages as msg;
use crate::plan::{self, Action, Diff, RouteChange, Tables};
use crate::topology::{match_host, HostMatchError, Server, Topology};
use crate::vip::Vip;
use crate::ExitStatus;

/// Default path of the config when neither -c nor TGW_VIP_CONFIG is given.
#[cfg(unix)]
pub const DEFAULT_CONFIG: &str = "/etc/tgw.conf";
#[cfg(windows)]
pub const DEFAULT_CONFIG: &str = "C:\\ProgramData\\tgw-vip\\tgw.conf";

/// A failure that ends a command before it produces a report.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Config(Box<ConfigError>),
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    #[error("{0}")]
    Aws(Box<AwsError>),
    /// A hook file was rejected before AWS was contacted (exit 2) or a
    /// hook aborted the action (exit 4).
    #[error("{}", .error.message)]
    Hook {
        error: HookError,
        status: ExitStatus,
    },
}

impl From<ConfigError> for CommandError {
    fn from(err: ConfigError) -> Self {
        CommandError::Config(Box::new(err))
    }
}

impl From<AwsError> for CommandError {
    fn from(err: AwsError) -> Self {
        CommandError::Aws(Box::new(err))
    }
}

impl CommandError {
    pub fn status(&self) -> ExitStatus {
        match self {
            CommandError::Config(_) | CommandError::Usage { .. } => ExitStatus::Usage,
            CommandError::Aws(_) => ExitStatus::AwsUnavailable,
            CommandError::Hook { status, .. } => *status,
        }
    }
}

/// The monitor policy for AWS API failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorPolicy {
    Ignore,
    Warn,
    Fail,
}

/// The validated request: config, topology, VIPs, the local server.
pub struct Request {
    pub config: LoadedConfig,
    pub topology: Topology,
    pub vips: Vec<Vip>,
    /// The local server; `status` works without one.
    pub server: Result<Server, CommandError>,
    pub strict: bool,
    pub api_error_policy: ApiErrorPolicy,
    pub repair: bool,
    pub aws: AwsSettings,
    pub deadline: Instant,
    pub hooks: Hooks,
}

/// The result of a command, rendered by `report`.
#[derive(Debug, Serialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Report {
    Start(StartReport),
    Monitor(MonitorReport),
    Stop { server: String },
    Status(StatusReport),
    Plan(PlanReport),
    Check(CheckReport),
    IamPolicy { policy: serde_json::Value },
}

#[derive(Debug, Serialize)]
pub struct StartReport {
    pub server: String,
    pub vips: Vec<String>,
    pub routes: Vec<RouteOutcome>,
    /// Set when another node took the VIP while this start ran.
    pub conflict: Option<converge::Conflict>,
    pub warnings: Vec<String>,
    pub elapsed_ms: u64,
    pub exit_code: i32,
}

#[derive(Debug, Serialize)]
pub struct Drift {
    pub region: String,
    pub kind: plan::TableKind,
    pub owner: String,
    pub table: String,
    pub destination: String,
    pub expected: plan::Target,
    pub actual: Option<plan::ObservedRoute>,
}

#[derive(Debug, Serialize)]
pub struct MonitorReport {
    pub server: String,
    pub vips: Vec<String>,
    pub checked: usize,
    pub drift: Vec<Drift>,
    pub api_errors: Vec<AwsError>,
    pub repaired: Vec<RouteOutcome>,
    pub policy: ApiErrorPolicy,
    /// The decision of the `on_monitor_fail` hooks, when one ran.
    pub hook_decision: Option<Decision>,
    pub warnings: Vec<String>,
    pub exit_code: i32,
}

#[derive(Debug, Serialize)]
pub struct StatusRow {
    pub region: String,
    pub kind: plan::TableKind,
    pub owner: String,
    pub table: String,
    pub destination: String,
    pub target: Option<plan::Target>,
    pub state: Option<String>,
    /// Servers for which this route is correct.
    pub servers: Vec<String>,
}

/// The routing verdict, as one word for scripts.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "verdict", content = "server", rename_all = "snake_case")]
pub enum Verdict {
    RoutedTo(String),
    Inconsistent,
    Unrouted,
    Unknown,
}

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub vips: Vec<String>,
    pub rows: Vec<StatusRow>,
    pub verdict: Verdict,
    pub api_errors: Vec<AwsError>,
    pub exit_code: i32,
}

#[derive(Debug, Serialize)]
pub struct PlanReport {
    pub server: String,
    pub vips: Vec<String>,
    pub changes: Vec<RouteChange>,
    pub api_errors: Vec<String>,
    pub warnings: Vec<String>,
    pub exit_code: i32,
}

impl Report {
    pub fn status(&self) -> ExitStatus {
        let code = match self {
            Report::Start(r) => r.exit_code,
            Report::Monitor(r) => r.exit_code,
            Report::Stop { .. } => 0,
            Report::Status(r) => r.exit_code,
            Report::Plan(r) => r.exit_code,
            Report::Check(r) => r.exit_code,
            Report::IamPolicy { .. } => 0,
        };
        match code {
            0 => ExitStatus::Success,
            1 => ExitStatus::Failed,
            2 => ExitStatus::Usage,
            4 => ExitStatus::HookAborted,
            _ => ExitStatus::AwsUnavailable,
        }
    }
}

/// Loads and checks everything the command line and config name.
pub fn prepare(cli: &Cli, started: Instant) -> Result<Request, CommandError> {
    let timeout = timeout_from(cli.timeout)?;
    let path = cli
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    let config = config::load(&path)?;
    let topology = Topology::build(&config)?;
    let vips = resolve_vips(cli, &config, &topology)?;
    let server = resolve_server(cli, &config, &topology);
    // stop must succeed on every node a cluster manager runs it on, so it
    // does not need the local host in `servers`.
    if !matches!(
        cli.command,
        Command::Status | Command::Check | Command::Stop
    ) {
        server.as_ref().map_err(clone_usage)?;
    }
    let api_error_policy = api_error_policy(&config)?;
    let hooks = load_hooks(cli, &config)?;

    Ok(Request {
        strict: cli.strict || config.raw.start.strict,
        repair: config.raw.monitor.repair,
        aws: AwsSettings::from_config(&config.raw.aws),
        config,
        topology,
        vips,
        server,
        api_error_policy,
        deadline: started + timeout,
        hooks,
    })
}

/// Loads the hook files for the commands that run hooks. Relative paths
/// are resolved against the config file's directory.
fn load_hooks(cli: &Cli, config: &LoadedConfig) -> Result<Hooks, CommandError> {
    // plan runs pre_activate as start would; check only loads the files,
    // so that a syntax or permission error shows before go-live.
    if !matches!(
        cli.command,
        Command::Start | Command::Monitor | Command::Plan | Command::Check
    ) {
        return Ok(Hooks::default());
    }
    let dir = config.path.parent().map(PathBuf::from).unwrap_or_default();
    Hooks::load(&config.raw.hooks, &dir).map_err(|error| CommandError::Hook {
        error,
        status: ExitStatus::Usage,
    })
}

fn clone_usage(err: &CommandError) -> CommandError {
    match err {
        CommandError::Usage { message, hint } => CommandError::Usage {
            message: message.clone(),
            hint: hint.clone(),
        },
        other => CommandError::Usage {
            message: other.to_string(),
            hint: None,
        },
    }
}

fn timeout_from(seconds: f64) -> Result<Duration, CommandError> {
    if seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0 {
        return Ok(Duration::from_secs_f64(seconds));
    }
    Err(CommandError::Usage {
        message: msg::timeout_invalid(seconds),
        hint: None,
    })
}

fn resolve_vips(
    cli: &Cli,
    config: &LoadedConfig,
    topology: &Topology,
) -> Result<Vec<Vip>, CommandError> {
    // The `vips` list is checked even when --vip replaces it, so a broken
    // entry is reported before a later run without --vip trips over it.
    for (index, text) in config.raw.vips.iter().enumerate() {
        if Vip::parse(text).is_none() {
            return Err(invalid_vip(config, false, index, text));
        }
    }
    let from_cli = !cli.vips.is_empty();
    let texts = if from_cli {
        cli.vips.clone()
    } else {
        config.raw.vips.clone()
    };
    if texts.is_empty() {
        return Err(CommandError::Usage {
            message: msg::vip_missing(),
            hint: Some(msg::hint_vip()),
        });
    }

    let mut vips = Vec::new();
    for (index, text) in texts.iter().enumerate() {
        let vip = Vip::parse(text).ok_or_else(|| invalid_vip(config, from_cli, index, text))?;
        for vpc in topology.vpcs.values() {
            if let Some(cidr) = vpc.cidrs.iter().find(|c| vip.is_inside(c)) {
                return Err(CommandError::from(config.error(
                    &["vpcs", &vpc.id, "cidrs"],
                    msg::vip_inside_vpc(text, &vpc.id, cidr),
                    Some(msg::hint_vip_outside()),
                )));
            }
        }
        if !vips.contains(&vip) {
            vips.push(vip);
        }
    }
    Ok(vips)
}

fn invalid_vip(config: &LoadedConfig, from_cli: bool, index: usize, text: &str) -> CommandError {
    if from_cli {
        return CommandError::Usage {
            message: msg::vip_invalid(text),
            hint: Some(msg::hint_vip()),
        };
    }
    let index = index.to_string();
    CommandError::from(config.error(
        &["vips", &index],
        msg::vip_invalid(text),
        Some(msg::hint_vip()),
    ))
}

fn resolve_server(
    cli: &Cli,
    config: &LoadedConfig,
    topology: &Topology,
) -> Result<Server, CommandError> {
    let names: Vec<String> = topology.servers.iter().map(|s| s.name.clone()).collect();
    // --server follows the same rules as the host name: exact, then
    // ignoring case, then the short name.
    if let Some(name) = &cli.server {
        return match match_host(&topology.servers, std::slice::from_ref(name)) {
            Ok(server) => Ok(server.clone()),
            Err(HostMatchError::NotFound) => Err(CommandError::Usage {
                message: msg::server_unknown(name, &config.path),
                hint: Some(msg::hint_server_names(&names.join(", "))),
            }),
            Err(HostMatchError::Ambiguous(matches)) => Err(CommandError::Usage {
                message: msg::server_ambiguous(name, &matches.join(", ")),
                hint: Some(msg::hint_server_flag()),
            }),
        };
    }

    let host_names = hostnames::local();
    let host = host_names.join(", ");
    debug!(host = %host, "matching the local host names against servers");
    match match_host(&topology.servers, &host_names) {
        Ok(server) => Ok(server.clone()),
        Err(HostMatchError::NotFound) => Err(CommandError::Usage {
            message: msg::host_not_in_servers(&host, &config.path),
            hint: Some(msg::hint_servers(&names)),
        }),
        Err(HostMatchError::Ambiguous(matches)) => Err(CommandError::Usage {
            message: msg::host_ambiguous(&host, &matches.join(", ")),
            hint: Some(msg::hint_server_flag()),
        }),
    }
}

fn api_error_policy(config: &LoadedConfig) -> Result<ApiErrorPolicy, ConfigError> {
    match config.raw.monitor.on_api_error.as_deref() {
        None | Some("warn") => Ok(ApiErrorPolicy::Warn),
        Some("ignore") => Ok(ApiErrorPolicy::Ignore),
        Some("fail") => Ok(ApiErrorPolicy::Fail),
        Some(other) => Err(config.error(
            &["monitor", "onApiError"],
            msg::policy_invalid(other),
            Some(msg::hint_policy()),
        )),
    }
}

/// Runs the command named on the command line.
pub async fn run(cli: &Cli, started: Instant) -> Result<Report, CommandError> {
    if cli.command == Command::IamPolicy {
        return iam_policy(cli);
    }
    let request = prepare(cli, started)?;
    if cli.command == Command::Stop {
        let server = request
            .server
            .map(|s| s.name)
            .unwrap_or_else(|_| hostnames::primary());
        return Ok(Report::Stop { server });
    }

    let mut request = request;
    if matches!(
        cli.command,
        Command::Start | Command::Monitor | Command::Plan
    ) {
        discover_local_eni(&mut request).await?;
    }
    let context = connect(request).await?;
    let report = match cli.command {
        Command::Start => Report::Start(start(&context.0, started).await?),
        Command::Monitor => Report::Monitor(monitor(&context.0, &context.1).await),
        Command::Status => Report::Status(status(&context.0).await),
        Command::Plan => Report::Plan(plan(&context.0).await?),
        Command::Check => Report::Check(check::check(&context.0).await),
        Command::Stop | Command::IamPolicy | Command::Completions { .. } | Command::Man => {
            unreachable!("handled before connecting")
        }
    };
    Ok(report)
}

/// Builds the IAM policy from the config alone; needs no VIP, server or AWS.
fn iam_policy(cli: &Cli) -> Result<Report, CommandError> {
    let account = cli.account.as_deref().unwrap_or("*");
    if !crate::iam::valid_account(account) {
        return Err(CommandError::Usage {
            message: msg::account_invalid(account),
            hint: Some(msg::hint_account()),
        });
    }

    let path = cli
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    let config = config::load(&path)?;
    let topology = Topology::build(&config)?;
    let policy = crate::iam::policy(&topology, account);
    Ok(Report::IamPolicy { policy })
}

/// Replaces `eni: auto` of the local server with the ENI id that instance
/// metadata returns. Other servers keep `auto` and get no ENI route.
async fn discover_local_eni(request: &mut Request) -> Result<(), CommandError> {
    let Ok(server) = request.server.as_mut() else {
        return Ok(());
    };
    if !server.discovers_eni() {
        return Ok(());
    }
    match crate::imds::discover_eni(&request.aws, request.deadline).await {
        Ok(eni) => {
            info!(server = %server.name, eni = %eni, "ENI discovered through instance metadata");
            server.eni = Some(eni);
            Ok(())
        }
        Err(crate::imds::DiscoveryError::Unavailable(error)) => Err(CommandError::Aws(error)),
        Err(crate::imds::DiscoveryError::InvalidAnswer { path, answer }) => {
            Err(CommandError::Usage {
                message: msg::imds_answer_invalid(&path, &answer),
                hint: Some(msg::hint_imds(&server.name)),
            })
        }
    }
}

/// Returns a warning when the active server's ENI forwards no VIP traffic because
/// its source/destination check is on, or when the check cannot be read.
async fn eni_warning(context: &Context) -> Option<String> {
    let eni = context.server.eni_id()?;
    let region = &context.topology.vpcs.get(&context.server.vpc)?.region;
    match context.ec2.source_dest_check(region, eni).await {
        Ok(false) => None,
        Ok(true) => Some(msg::source_dest_check_on(eni, &context.server.name)),
        Err(error) => Some(msg::source_dest_check_unread(eni, &error.to_string())),
    }
}

/// Monitor settings that the context does not carry.
pub struct MonitorSettings {
    pub policy: ApiErrorPolicy,
    pub repair: bool,
}

async fn connect(request: Request) -> Result<(Context, MonitorSettings), CommandError> {
    let regions: Vec<String> = request.topology.regions().into_iter().collect();
    // Status without a local server acts as the first server, only to
    // pick a home region; it compares every server anyway.
    let server = request
        .server
        .unwrap_or_else(|_| request.topology.servers[0].clone());
    let home = request
        .topology
        .vpcs
        .get(&server.vpc)
        .map(|v| v.region.clone())
        .unwrap_or_else(|| regions[0].clone());
    let ec2 = Ec2::connect(&request.aws, &regions, &home, request.deadline).await?;

    let settings = MonitorSettings {
        policy: request.api_error_policy,
        repair: request.repair,
    };
    let context = Context {
        topology: request.topology,
        vips: request.vips,
        server,
        strict: request.strict,
        ec2,
        deadline: request.deadline,
        hooks: request.hooks,
    };
    Ok((context, settings))
}

fn vip_strings(context: &Context) -> Vec<String> {
    context.vips.iter().map(ToString::to_string).collect()
}

/// Warnings for VPCs that hold no VIP route and for multi-hop peering
/// paths, whose forwarding the user must verify in the account.
fn plan_warnings(context: &Context, desired: &[plan::DesiredRoute], diff: &Diff) -> Vec<String> {
    let mut warnings = Vec::new();
    for (vpc, destination) in &diff.vpcs_without_route {
        warnings.push(msg::vpc_without_route(vpc, destination));
    }
    for route in desired.iter().filter(|r| r.hops > 1) {
        if let Tables::Tgw { gateway, .. } = &route.tables {
            warnings.push(msg::multi_hop(gateway, route.hops, &context.server.name));
        }
    }
    warnings.sort();
    warnings.dedup();
    // The report prints the warnings; the log keeps them at info level, so
    // that a script capturing both streams gets each once.
    for warning in &warnings {
        info!("{warning}");
    }
    warnings
}

/// Reads the routes of `desired` and, at the same time, the source/destination
/// check of the active server's ENI, then diffs and collects the warnings.
async fn observe_active(
    context: &Context,
    desired: &[plan::DesiredRoute],
) -> (plan::Observation, Diff, Vec<String>) {
    let (observation, eni_warning) = futures::join!(
        engine::observe(&context.ec2, desired, engine::optional_cutoff(&context.ec2),),
        eni_warning(context)
    );
    let diff = plan::diff(desired, &observation);
    let mut warnings = plan_warnings(context, desired, &diff);
    warnings.extend(eni_warning.inspect(|w| info!("{w}")));
    (observation, diff, warnings)
}

/// Points every managed route at the context's server, running the
/// `pre_activate` hooks before any write and `post_activate` after.
pub async fn start(context: &Context, started: Instant) -> Result<StartReport, CommandError> {
    let desired = engine::desired(context);
    let (_, mut diff, warnings) = observe_active(context, &desired).await;
    if !context.hooks.is_empty() {
        run_pre_activate(context, &mut diff, "start").await?;
    }

    // A required route that could not be read means the switch cannot
    // complete, so nothing is written rather than half of it.
    let blocked = diff.unobserved.iter().any(|u| u.route.required);
    let withhold = blocked.then(msg::withheld_reason);
    if blocked {
        warn!("a required route could not be read; writing nothing");
    }
    let mut routes = engine::apply(&context.ec2, &diff, withhold.as_deref()).await;
    let conflict = converge::settle(context, &desired, &mut routes).await;
    let unrouted = required_vpcs_unrouted(&desired, &diff);
    let mut warnings = warnings;
    warnings.extend(unrouted.iter().map(|vpc| msg::start_vpc_unrouted(vpc)));
    let status = match conflict {
        Some(_) => ExitStatus::Failed,
        None if !unrouted.is_empty() => ExitStatus::Failed,
        None => engine::start_status(&routes),
    };
    let elapsed_ms = started.elapsed().as_millis() as u64;
    if !context.hooks.is_empty() {
        let input = hooks::inputs::post_activate(context, &routes, elapsed_ms, status.code());
        context.hooks.post_activate(&input, context.deadline);
    }
    Ok(StartReport {
        server: context.server.name.clone(),
        vips: vip_strings(context),
        routes,
        conflict,
        warnings,
        elapsed_ms,
        exit_code: status.code(),
    })
}

/// Runs `pre_activate`, then observes and diffs the routes it added and
/// drops the tables it skipped. An abort ends the start with exit code 4.
async fn run_pre_activate(
    context: &Context,
    diff: &mut Diff,
    action: &str,
) -> Result<(), CommandError> {
    let aborted = |error: HookError| CommandError::Hook {
        error,
        status: ExitStatus::HookAborted,
    };
    let input = hooks::inputs::pre_activate(context, diff, action);
    let answer = context
        .hooks
        .pre_activate(&input, context.deadline)
        .map_err(aborted)?;

    let added = hooks::inputs::added_routes(context, &answer.added).map_err(aborted)?;
    if !added.is_empty() {
        let cutoff = engine::optional_cutoff(&context.ec2);
        let observation = engine::observe(&context.ec2, &added, cutoff).await;
        hooks::inputs::merge_diff(diff, plan::diff(&added, &observation));
    }
    hooks::inputs::apply_skips(diff, &answer.skipped);
    Ok(())
}

/// Lists the VPCs whose route is required but where no table has the VIP
/// route: start cannot point them here, so the VIP stays unreachable there
/// and the next monitor would report drift.
fn required_vpcs_unrouted(desired: &[plan::DesiredRoute], diff: &Diff) -> Vec<String> {
    let mut vpcs: Vec<String> = diff
        .vpcs_without_route
        .iter()
        .filter(|(vpc, destination)| {
            desired.iter().any(|route| {
                route.required
                    && route.destination == *destination
                    && matches!(&route.tables, Tables::Vpc { vpc: v, .. } if v == vpc)
            })
        })
        .map(|(vpc, _)| vpc.clone())
        .collect();
    vpcs.dedup();
    vpcs
}

/// Lists routes that differ from the plan. A VPC where no table has the VIP
/// route at all counts too, because nothing there reaches the VIP.
fn drift_of(desired: &[plan::DesiredRoute], diff: &Diff) -> Vec<Drift> {
    let mut drift: Vec<Drift> = diff
        .changes
        .iter()
        .filter(|c| c.action != Action::Keep)
        .map(|c| Drift {
            region: c.region.clone(),
            kind: c.kind,
            owner: c.owner.clone(),
            table: c.table.clone(),
            destination: c.destination.clone(),
            expected: c.desired.clone(),
            actual: c.current.clone(),
        })
        .collect();
    for (vpc, destination) in &diff.vpcs_without_route {
        let route = desired.iter().find(|r| {
            r.destination == *destination
                && matches!(&r.tables, Tables::Vpc { vpc: v, .. } if v == vpc)
        });
        if let Some(route) = route {
            drift.push(Drift {
                region: route.region.clone(),
                kind: plan::TableKind::Vpc,
                owner: vpc.clone(),
                table: String::new(),
                destination: destination.clone(),
                expected: route.target.clone(),
                actual: None,
            });
        }
    }
    drift.sort_by(|a, b| {
        let key_a = row_order(&a.region, a.kind, &a.owner, &a.table, &a.destination);
        let key_b = row_order(&b.region, b.kind, &b.owner, &b.table, &b.destination);
        key_a.cmp(&key_b)
    });
    drift
}

/// Builds the sort key of a report row: region, table kind, owner, table,
/// then destination, the order that start and status use too.
fn row_order<'a>(
    region: &'a str,
    kind: plan::TableKind,
    owner: &'a str,
    table: &'a str,
    destination: &'a str,
) -> (&'a str, plan::TableKind, &'a str, &'a str, &'a str) {
    (region, kind, owner, table, destination)
}

fn api_errors_of(diff: &Diff, observation: &plan::Observation) -> Vec<AwsError> {
    let mut errors: Vec<AwsError> = observation.failed.values().cloned().collect();
    errors.dedup();
    if errors.is_empty() && !diff.unobserved.is_empty() {
        warn!("routes were not read but no read error was recorded");
    }
    errors
}

/// Checks every managed route; drift fails, API errors follow the policy.
/// With `on_monitor_fail` hooks, their decision replaces that behaviour.
pub async fn monitor(context: &Context, settings: &MonitorSettings) -> MonitorReport {
    let desired = engine::desired(context);
    let (observation, diff, mut warnings) = observe_active(context, &desired).await;
    let mut drift = drift_of(&desired, &diff);
    let mut api_errors = api_errors_of(&diff, &observation);
    // A VPC where no table has the VIP route counts as one route.
    let checked = diff.changes.len() + diff.vpcs_without_route.len();

    let found = !drift.is_empty() || !api_errors.is_empty();
    let decision = if found && !context.hooks.is_empty() {
        ask_monitor_hooks(context, &drift, &api_errors, &mut warnings)
    } else {
        None
    };
    let mut repair = match decision {
        Some(decision) => decision == Decision::Repair,
        None => !drift.is_empty() && settings.repair,
    };
    if repair {
        if let Some(holder) = other_holder(context).await {
            let text = msg::repair_refused(&holder);
            info!("{text}");
            warnings.push(text);
            repair = false;
        }
    }

    let mut repaired = Vec::new();
    if repair {
        warn!(tables = drift.len(), "drift found; repairing");
        repaired = engine::apply(&context.ec2, &diff, None).await;
        let observation = engine::observe(
            &context.ec2,
            &desired,
            engine::optional_cutoff(&context.ec2),
        )
        .await;
        let after = plan::diff(&desired, &observation);
        drift = drift_of(&desired, &after);
        api_errors = api_errors_of(&after, &observation);
    }

    let status = monitor_status(decision, &drift, &api_errors, settings.policy);
    MonitorReport {
        server: context.server.name.clone(),
        vips: vip_strings(context),
        checked,
        drift,
        api_errors,
        repaired,
        policy: settings.policy,
        hook_decision: decision,
        warnings,
        exit_code: status.code(),
    }
}

/// Names the other server that every managed route points at, if any.
/// Such routes are a failover, not drift: a repair from this node would
/// take the VIP away from the active node.
async fn other_holder(context: &Context) -> Option<String> {
    // Every read here is best effort: the repair that may follow needs the
    // rest of the time.
    let ec2 = context
        .ec2
        .with_deadline(engine::optional_cutoff(&context.ec2));
    let report = status_with(context, &ec2).await;
    holder_of(&report.rows, &context.server.name)
}

/// Finds a server other than `me` that every readable row is correct for.
///
/// NOTE: After a start that could not reach another region, the routes are
/// split between two servers and no holder is found, so a standby's repair
/// takes them over. Routes carry no sign of which write came last; the
/// docs ask for the monitor to run only on the active node.
/// Tables that could not be read are left out, so a silent region never
/// makes this node take over the routes it can reach.
fn holder_of(rows: &[StatusRow], me: &str) -> Option<String> {
    let first = rows.first()?;
    first
        .servers
        .iter()
        .filter(|server| *server != me)
        .find(|server| rows.iter().all(|row| row.servers.contains(server)))
        .cloned()
}

/// Runs `on_monitor_fail`; a hook error becomes a warning and a fail.
fn ask_monitor_hooks(
    context: &Context,
    drift: &[Drift],
    api_errors: &[AwsError],
    warnings: &mut Vec<String>,
) -> Option<Decision> {
    let drift = serde_json::to_value(drift).unwrap_or_default();
    let input = hooks::inputs::monitor_fail(context, &drift, api_errors);
    match context.hooks.on_monitor_fail(&input, context.deadline) {
        Ok(decision) => decision,
        Err(error) => {
            let text = msg::hook_monitor_error(&error.message);
            info!("{text}");
            warnings.push(text);
            Some(Decision::Fail)
        }
    }
}

fn monitor_status(
    decision: Option<Decision>,
    drift: &[Drift],
    api_errors: &[AwsError],
    policy: ApiErrorPolicy,
) -> ExitStatus {
    match decision {
        Some(Decision::Ignore) => return ExitStatus::Success,
        Some(Decision::Fail) if drift.is_empty() => return ExitStatus::AwsUnavailable,
        Some(Decision::Fail) => return ExitStatus::Failed,
        _ => {}
    }
    if !drift.is_empty() {
        ExitStatus::Failed
    } else if !api_errors.is_empty() && policy == ApiErrorPolicy::Fail {
        ExitStatus::AwsUnavailable
    } else {
        ExitStatus::Success
    }
}

/// Shows every managed table and which server its route serves.
pub async fn status(context: &Context) -> StatusReport {
    status_with(context, &context.ec2).await
}

/// Builds the status report, reading through `ec2`.
async fn status_with(context: &Context, ec2: &crate::aws::Ec2) -> StatusReport {
    let plans: Vec<(&Server, Vec<plan::DesiredRoute>)> = context
        .topology
        .servers
        .iter()
        .map(|server| {
            let routes = plan::desired_routes(
                &context.topology,
                server,
                &context.vips,
                false,
                server.eni_id(),
            );
            (server, routes)
        })
        .collect();
    let all: Vec<plan::DesiredRoute> = plans.iter().flat_map(|(_, r)| r.clone()).collect();
    let observation = engine::observe(ec2, &all, engine::optional_cutoff(ec2)).await;

    let diffs: Vec<(&Server, Diff)> = plans
        .iter()
        .map(|(server, routes)| (*server, plan::diff(routes, &observation)))
        .collect();
    let rows = status_rows(&diffs);
    let api_errors: Vec<AwsError> = observation.failed.values().cloned().collect();
    let verdict = verdict_of(&diffs, &rows, !api_errors.is_empty());
    let exit = if api_errors.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::AwsUnavailable
    };
    StatusReport {
        vips: vip_strings(context),
        rows,
        verdict,
        api_errors,
        exit_code: exit.code(),
    }
}

fn status_rows(diffs: &[(&Server, Diff)]) -> Vec<StatusRow> {
    let mut rows: Vec<StatusRow> = Vec::new();
    for (server, diff) in diffs {
        for change in &diff.changes {
            let index = rows
                .iter()
                .position(|r| r.table == change.table && r.destination == change.destination);
            let index = index.unwrap_or_else(|| {
                rows.push(StatusRow {
                    region: change.region.clone(),
                    kind: change.kind,
                    owner: change.owner.clone(),
                    table: change.table.clone(),
                    destination: change.destination.clone(),
                    target: change.current.as_ref().map(|r| r.target.clone()),
                    state: change
                        .current
                        .as_ref()
                        .map(|r| r.state.as_str().to_string()),
                    servers: Vec::new(),
                });
                rows.len() - 1
            });
            if change.action == Action::Keep {
                rows[index].servers.push(server.name.clone());
            }
        }
    }
    rows.sort_by(|a, b| {
        (&a.region, a.kind, &a.owner, &a.table).cmp(&(&b.region, b.kind, &b.owner, &b.table))
    });
    rows
}

fn verdict_of(diffs: &[(&Server, Diff)], rows: &[StatusRow], api_failed: bool) -> Verdict {
    if api_failed {
        return Verdict::Unknown;
    }
    if rows.iter().all(|r| r.target.is_none()) {
        return Verdict::Unrouted;
    }
    let complete: Vec<&str> = diffs
        .iter()
        .filter(|(_, diff)| {
            diff.pending().next().is_none()
                && diff.unobserved.is_empty()
                && diff.vpcs_without_route.is_empty()
        })
        .map(|(server, _)| server.name.as_str())
        .collect();
    match complete.as_slice() {
        [one] => Verdict::RoutedTo(one.to_string()),
        _ => Verdict::Inconsistent,
    }
}

/// Lists the changes a start would make, reading only. The `pre_activate`
/// hooks run with `ctx.action` set to `plan`, so added and skipped routes
/// show, and an abort ends the plan as it would end the start.
pub async fn plan(context: &Context) -> Result<PlanReport, CommandError> {
    let desired = engine::desired(context);
    let observation = engine::observe(
        &context.ec2,
        &desired,
        engine::optional_cutoff(&context.ec2),
    )
    .await;
    let mut diff = plan::diff(&desired, &observation);
    if !context.hooks.is_empty() {
        run_pre_activate(context, &mut diff, "plan").await?;
    }
    let warnings = plan_warnings(context, &desired, &diff);
    let api_errors: Vec<String> = diff.unobserved.iter().map(|u| u.reason.clone()).collect();
    let exit = if api_errors.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::AwsUnavailable
    };
    let mut changes = diff.changes;
    changes.sort_by(|a, b| {
        let key_a = row_order(&a.region, a.kind, &a.owner, &a.table, &a.destination);
        let key_b = row_order(&b.region, b.kind, &b.owner, &b.table, &b.destination);
        key_a.cmp(&key_b)
    });
    Ok(PlanReport {
        server: context.server.name.clone(),
        vips: vip_strings(context),
        changes,
        api_errors,
        warnings,
        exit_code: exit.code(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(table: &str, servers: &[&str]) -> StatusRow {
        StatusRow {
            region: "ap-northeast-1".to_string(),
            kind: plan::TableKind::Vpc,
            owner: "vpc-1234abcd".to_string(),
            table: table.to_string(),
            destination: "172.16.0.1/32".to_string(),
            target: None,
            state: None,
            servers: servers.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn holder_is_the_server_every_row_serves() {
        let failover = [row("rtb-1", &["b"]), row("rtb-2", &["a", "b"])];
        let partial = [row("rtb-1", &["b"]), row("rtb-2", &["a"])];
        let missing = [row("rtb-1", &["b"]), row("rtb-2", &[])];

        assert_eq!(holder_of(&failover, "a"), Some("b".to_string()));
        assert_eq!(holder_of(&failover, "b"), None);
        assert_eq!(holder_of(&partial, "a"), None);
        assert_eq!(holder_of(&missing, "a"), None);
        assert_eq!(holder_of(&[], "a"), None);
    }
}
