//! The report on standard output: tables and one-line verdicts in
//! the chosen language, or JSON for programs.

use std::fmt::Write as _;

use rust_i18n::t;

use crate::aws::ErrorKind;
use crate::check::{CheckReport, Found, ResourceKind};
use crate::commands::{
    ApiErrorPolicy, MonitorReport, PlanReport, Report, StartReport, StatusReport, Verdict,
};
use crate::engine::{Outcome, RouteOutcome};
use crate::messages as msg;
use crate::plan::{Action, ObservedRoute, Target};

/// Renders a report as text in the active language.
pub fn render_text(report: &Report) -> String {
    match report {
        Report::Start(start) => render_start(start),
        Report::Monitor(monitor) => render_monitor(monitor),
        Report::Stop { server } => format!("{}\n", t!("stop.done", server = server)),
        Report::Status(status) => render_status(status),
        Report::Plan(plan) => render_plan(plan),
        Report::Check(check) => render_check(check),
        Report::IamPolicy { policy } => render_policy(policy),
    }
}

/// Renders a report as one JSON document.
pub fn render_json(report: &Report) -> String {
    // The policy is printed as the document IAM accepts, in both formats.
    if let Report::IamPolicy { policy } = report {
        return render_policy(policy);
    }
    let mut text = serde_json::to_string_pretty(report)
        .unwrap_or_else(|err| format!("{{\"error\": \"{err}\"}}"));
    text.push('\n');
    text
}

/// Renders a command error as JSON for `--output json`, so that a program
/// reading standard output gets an object on failure too. The text error
/// still goes to standard error.
pub fn render_json_error(command: &str, err: &crate::commands::CommandError) -> String {
    use crate::commands::CommandError;

    let error = match err {
        CommandError::Config(config) => serde_json::json!({
            "kind": "config",
            "message": config.message,
            "hint": config.hint,
            "file": config.file.display().to_string(),
            "line": config.line,
            "key": (!config.key.is_empty()).then_some(&config.key),
        }),
        CommandError::Usage { message, hint } => serde_json::json!({
            "kind": "usage",
            "message": message,
            "hint": hint,
        }),
        CommandError::Hook { error, .. } => serde_json::json!({
            "kind": "hook",
            "message": error.message,
            "hint": error.hint,
        }),
        CommandError::Aws(error) => serde_json::json!({
            "kind": "aws",
            "message": error.to_string(),
            "operation": error.operation,
            "region": error.region,
            "resource": error.resource,
            "code": error.code,
        }),
    };
    let value = serde_json::json!({
        "command": command,
        "error": error,
        "exit_code": err.status().code(),
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// Display width, counting East Asian wide characters as two columns.
fn width(text: &str) -> usize {
    text.chars()
        .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
        .sum()
}

/// Formats rows as left-aligned columns separated by two spaces.
fn table(headers: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            widths[index] = widths[index].max(width(cell));
        }
    }

    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut text = String::new();
        for (index, cell) in cells.iter().enumerate() {
            text.push_str(cell);
            if index + 1 < cells.len() {
                let pad = widths[index] - width(cell) + 2;
                text.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(headers);
    for row in rows {
        line(row);
    }
    out
}

fn header(key: &str) -> String {
    t!(key).into_owned()
}

/// With several VIPs, each table has a row per VIP; a DESTINATION column
/// after ROUTE TABLE names the VIP of each row. With one VIP it is left out.
fn destination_column(
    headers: &mut Vec<String>,
    rows: &mut [Vec<String>],
    destinations: &[&str],
    vip_count: usize,
) {
    if vip_count < 2 {
        return;
    }
    headers.insert(3, header("col.destination"));
    for (row, destination) in rows.iter_mut().zip(destinations) {
        row.insert(3, destination.to_string());
    }
}

fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Unchanged => t!("outcome.unchanged").into_owned(),
        Outcome::Changed { old } => {
            let old = old.as_ref().map(Target::id).unwrap_or("-");
            t!("outcome.changed", old = old).into_owned()
        }
        Outcome::Created => t!("outcome.created").into_owned(),
        Outcome::Failed { error } => t!("outcome.failed", code = error.code).into_owned(),
        Outcome::NotRead { .. } => t!("outcome.not_read").into_owned(),
        Outcome::Withheld { .. } => t!("outcome.withheld").into_owned(),
    }
}

fn table_label(route: &RouteOutcome) -> String {
    if route.table.is_empty() {
        t!("report.all_tables").into_owned()
    } else {
        route.table.clone()
    }
}

/// Names the table of a failed route; a VPC whose tables could not be read
/// is named by the VPC id.
fn failure_label(route: &RouteOutcome) -> String {
    if route.table.is_empty() {
        t!("report.vpc_tables", vpc = route.owner).into_owned()
    } else {
        route.table.clone()
    }
}

/// Picks the advice for the failed routes of a start: a denied write needs
/// IAM actions, an error in the request needs the config checked, and
/// anything else (throttling, timeouts, a silent region) a later retry.
fn failure_hints(routes: &[RouteOutcome]) -> Vec<String> {
    let mut denied = false;
    let mut rejected = false;
    let mut transient = false;
    for route in routes.iter().filter(|r| r.is_failure()) {
        match &route.outcome {
            Outcome::Failed { error } if error.kind == ErrorKind::Unauthorized => denied = true,
            Outcome::Failed { error } if error.kind == ErrorKind::Client => rejected = true,
            _ => transient = true,
        }
    }

    let mut hints = Vec::new();
    if denied {
        hints.push(msg::hint_iam_policy());
    }
    if rejected {
        hints.push(t!("start.hint_rejected").into_owned());
    }
    if transient {
        hints.push(t!("start.hint_failed").into_owned());
    }
    hints
}

fn render_start(report: &StartReport) -> String {
    let mut out = String::new();
    let vips = report.vips.join(", ");
    let _ = writeln!(
        out,
        "{}",
        t!("start.header", server = report.server, vips = vips)
    );

    let mut headers = vec![
        header("col.region"),
        header("col.owner"),
        header("col.table"),
        header("col.target"),
        header("col.result"),
    ];
    let mut rows: Vec<Vec<String>> = report
        .routes
        .iter()
        .map(|route| {
            vec![
                route.region.clone(),
                route.owner.clone(),
                table_label(route),
                route.target.id().to_string(),
                outcome_text(&route.outcome),
            ]
        })
        .collect();
    let destinations: Vec<&str> = report
        .routes
        .iter()
        .map(|r| r.destination.as_str())
        .collect();
    destination_column(&mut headers, &mut rows, &destinations, report.vips.len());
    out.push_str(&table(&headers, &rows));

    let mut shown: Vec<String> = Vec::new();
    for route in report.routes.iter().filter(|r| r.is_failure()) {
        let detail = match &route.outcome {
            Outcome::Failed { error } => format!("{}: {}", error.code, error.message),
            Outcome::NotRead { reason } | Outcome::Withheld { reason } => reason.clone(),
            _ => continue,
        };
        let key = if route.required {
            "start.failed_required"
        } else {
            "start.failed_optional"
        };
        let line = t!(key, table = failure_label(route), detail = detail).into_owned();
        if !shown.contains(&line) {
            let _ = writeln!(out, "{line}");
            shown.push(line);
        }
    }
    for hint in failure_hints(&report.routes) {
        let _ = writeln!(out, "{}: {hint}", t!("report.hint"));
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "{}: {warning}", t!("report.warning"));
    }
    if let Some(conflict) = &report.conflict {
        let owner = conflict.owner.clone().unwrap_or_else(|| "?".to_string());
        let _ = writeln!(
            out,
            "{}",
            t!("start.conflict", table = conflict.table, owner = owner)
        );
    }

    let count = |f: fn(&Outcome) -> bool| report.routes.iter().filter(|r| f(&r.outcome)).count();
    let changed = count(|o| matches!(o, Outcome::Changed { .. }));
    let created = count(|o| matches!(o, Outcome::Created));
    let unchanged = count(|o| matches!(o, Outcome::Unchanged));
    let failed = count(|o| {
        matches!(
            o,
            Outcome::Failed { .. } | Outcome::NotRead { .. } | Outcome::Withheld { .. }
        )
    });
    let _ = writeln!(
        out,
        "{}",
        t!(
            "start.summary",
            total = report.routes.len(),
            changed = changed,
            created = created,
            unchanged = unchanged,
            failed = failed,
            ms = report.elapsed_ms
        )
    );
    out
}

fn actual_text(actual: &Option<ObservedRoute>) -> (String, String) {
    match actual {
        Some(route) => (
            route.target.id().to_string(),
            route.state.as_str().to_string(),
        ),
        None => (t!("monitor.missing").into_owned(), "-".to_string()),
    }
}

fn render_monitor(report: &MonitorReport) -> String {
    let mut out = String::new();
    for warning in &report.warnings {
        let _ = writeln!(out, "{}: {warning}", t!("report.warning"));
    }
    if !report.repaired.is_empty() {
        let changed = report
            .repaired
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Changed { .. } | Outcome::Created))
            .count();
        let _ = writeln!(out, "{}", t!("monitor.repaired", count = changed));
    }

    if report.drift.is_empty() && report.checked == 0 && !report.api_errors.is_empty() {
        let _ = writeln!(out, "{}", t!("monitor.unchecked", server = report.server));
    } else if report.drift.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            t!(
                "monitor.healthy",
                count = report.checked,
                server = report.server
            )
        );
    } else {
        let _ = writeln!(
            out,
            "{}",
            t!(
                "monitor.drift",
                count = report.drift.len(),
                total = report.checked,
                server = report.server
            )
        );
        let mut headers = vec![
            header("col.region"),
            header("col.owner"),
            header("col.table"),
            header("col.expected"),
            header("col.actual"),
            header("col.state"),
        ];
        let mut rows: Vec<Vec<String>> = report
            .drift
            .iter()
            .map(|d| {
                let (actual, state) = actual_text(&d.actual);
                let table = if d.table.is_empty() {
                    t!("report.all_tables").into_owned()
                } else {
                    d.table.clone()
                };
                vec![
                    d.region.clone(),
                    d.owner.clone(),
                    table,
                    d.expected.id().to_string(),
                    actual,
                    state,
                ]
            })
            .collect();
        let destinations: Vec<&str> = report
            .drift
            .iter()
            .map(|d| d.destination.as_str())
            .collect();
        destination_column(&mut headers, &mut rows, &destinations, report.vips.len());
        out.push_str(&table(&headers, &rows));
    }

    if !report.api_errors.is_empty() && report.policy != ApiErrorPolicy::Ignore {
        let key = if report.policy == ApiErrorPolicy::Fail {
            "monitor.api_errors_fail"
        } else {
            "monitor.api_errors_warn"
        };
        let _ = writeln!(out, "{}", t!(key, count = report.api_errors.len()));
        for error in &report.api_errors {
            let _ = writeln!(out, "  {error}");
        }
    }
    out
}

fn render_status(report: &StatusReport) -> String {
    let mut out = String::new();
    let mut headers = vec![
        header("col.region"),
        header("col.owner"),
        header("col.table"),
        header("col.target"),
        header("col.state"),
        header("col.servers"),
    ];
    let mut rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|row| {
            let target = row
                .target
                .as_ref()
                .map(|t| t.id().to_string())
                .unwrap_or_else(|| t!("monitor.missing").into_owned());
            vec![
                row.region.clone(),
                row.owner.clone(),
                row.table.clone(),
                target,
                row.state.clone().unwrap_or_else(|| "-".to_string()),
                if row.servers.is_empty() {
                    "-".to_string()
                } else {
                    row.servers.join(", ")
                },
            ]
        })
        .collect();
    let destinations: Vec<&str> = report.rows.iter().map(|r| r.destination.as_str()).collect();
    destination_column(&mut headers, &mut rows, &destinations, report.vips.len());
    out.push_str(&table(&headers, &rows));

    for error in &report.api_errors {
        let _ = writeln!(out, "{}: {error}", t!("report.warning"));
    }
    let vips = report.vips.join(", ");
    let verdict = match &report.verdict {
        Verdict::RoutedTo(server) => t!("status.routed", vips = vips, server = server),
        Verdict::Inconsistent => t!("status.inconsistent", vips = vips),
        Verdict::Unrouted => t!("status.unrouted", vips = vips),
        Verdict::Unknown => t!("status.unknown", vips = vips),
    };
    let _ = writeln!(out, "{verdict}");
    out
}

fn render_plan(report: &PlanReport) -> String {
    let mut out = String::new();
    let vips = report.vips.join(", ");
    let _ = writeln!(
        out,
        "{}",
        t!("plan.header", server = report.server, vips = vips)
    );
    let mut headers = vec![
        header("col.region"),
        header("col.owner"),
        header("col.table"),
        header("col.action"),
        header("col.actual"),
        header("col.target"),
    ];
    let mut rows: Vec<Vec<String>> = report
        .changes
        .iter()
        .map(|change| {
            let action = match change.action {
                Action::Keep => t!("action.keep"),
                Action::Replace => t!("action.replace"),
                Action::Create => t!("action.create"),
            };
            let (actual, _) = actual_text(&change.current);
            vec![
                change.region.clone(),
                change.owner.clone(),
                change.table.clone(),
                action.into_owned(),
                actual,
                change.desired.id().to_string(),
            ]
        })
        .collect();
    let destinations: Vec<&str> = report
        .changes
        .iter()
        .map(|r| r.destination.as_str())
        .collect();
    destination_column(&mut headers, &mut rows, &destinations, report.vips.len());
    out.push_str(&table(&headers, &rows));
    for warning in &report.warnings {
        let _ = writeln!(out, "{}: {warning}", t!("report.warning"));
    }
    for error in &report.api_errors {
        let _ = writeln!(out, "{}: {error}", t!("report.warning"));
    }
    let pending = report
        .changes
        .iter()
        .filter(|c| c.action != Action::Keep)
        .count();
    let _ = writeln!(out, "{}", t!("plan.summary", count = pending));
    out
}

fn render_policy(policy: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(policy)
        .unwrap_or_else(|err| format!("{{\"error\": \"{err}\"}}"));
    text.push('\n');
    text
}

fn kind_text(kind: ResourceKind) -> String {
    match kind {
        ResourceKind::Vpc => "VPC".to_string(),
        ResourceKind::Eni => "ENI".to_string(),
        ResourceKind::TransitGateway => "Transit Gateway".to_string(),
        ResourceKind::TgwRouteTable => msg::kind_tgw_route_table(),
        ResourceKind::TgwAttachment => msg::kind_tgw_attachment(),
        ResourceKind::RouteTable => msg::kind_route_table(),
    }
}

fn found_text(found: &Found) -> String {
    match found {
        Found::Exists => msg::found_exists(),
        Found::NotFound => msg::found_not_found(),
        Found::WrongParent { expected, actual } => msg::found_wrong_parent(expected, actual),
        Found::NotChecked { code } => msg::not_checked(code),
    }
}

fn render_check(report: &CheckReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", msg::check_resources_title());
    let headers = [
        header("col.region"),
        msg::col_kind(),
        msg::col_id(),
        header("col.result"),
    ];
    let rows: Vec<Vec<String>> = report
        .resources
        .iter()
        .map(|r| {
            vec![
                r.region.clone(),
                kind_text(r.kind),
                r.id.clone(),
                found_text(&r.found),
            ]
        })
        .collect();
    out.push_str(&table(&headers, &rows));

    let _ = writeln!(out, "\n{}", msg::check_permissions_title());
    let headers = [
        header("col.region"),
        header("col.table"),
        msg::col_iam_action(),
        header("col.result"),
    ];
    let rows: Vec<Vec<String>> = report
        .permissions
        .iter()
        .map(|p| {
            let result = match (&p.permission, &p.error) {
                (Some(crate::aws::Permission::Allowed), _) => msg::permission_allowed(),
                (Some(crate::aws::Permission::Denied), _) => msg::permission_denied(),
                (None, error) => msg::not_checked(error.as_deref().unwrap_or("-")),
            };
            vec![p.region.clone(), p.table.clone(), p.action.clone(), result]
        })
        .collect();
    out.push_str(&table(&headers, &rows));
    out.push('\n');

    out.push_str(&check_summary(report));
    out
}

fn check_summary(report: &CheckReport) -> String {
    let mut out = String::new();
    for error in &report.api_errors {
        let _ = writeln!(out, "{}: {error}", t!("report.warning"));
    }
    let bad = report
        .resources
        .iter()
        .filter(|r| matches!(r.found, Found::NotFound | Found::WrongParent { .. }))
        .count();
    if bad > 0 {
        let _ = writeln!(out, "{}", msg::check_resources_bad(bad));
    }
    for unrouted in &report.unrouted {
        let _ = writeln!(
            out,
            "{}",
            msg::check_unrouted(&unrouted.vpc, &unrouted.destination)
        );
    }
    let unchecked = report
        .resources
        .iter()
        .filter(|r| matches!(r.found, Found::NotChecked { .. }))
        .count();
    if unchecked > 0 {
        let _ = writeln!(out, "{}", msg::check_resources_unchecked(unchecked));
    }
    if !report.missing_actions.is_empty() {
        let actions = report.missing_actions.join(", ");
        let _ = writeln!(out, "{}", msg::check_missing_actions(&actions));
        let _ = writeln!(out, "{}: {}", t!("report.hint"), msg::hint_iam_policy());
    }
    if report.exit_code == 0 {
        let _ = writeln!(out, "{}", msg::check_ok());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_wide_characters() {
        let text = table(
            &["リージョン".to_string(), "x".to_string()],
            &[vec!["ap-northeast-1".to_string(), "y".to_string()]],
        );
        let lines: Vec<&str> = text.lines().collect();
        let column = |line: &str| width(&line[..line.rfind(' ').unwrap() + 1]);
        assert_eq!(column(lines[0]), column(lines[1]));
    }
}
