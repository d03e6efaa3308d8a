//! Every sentence a user reads, in English and Japanese.
//!
//! The texts live in `locales/messages.yml` and are compiled in by
//! rust-i18n. This module picks the language once at start-up and gives each
//! message a typed function, so a caller cannot forget an argument.

use std::path::Path;

use rust_i18n::t;

/// Picks the message language: `--lang`, then LC_ALL, LC_MESSAGES and LANG
/// as POSIX orders them, then the system locale on Windows. Anything that
/// starts with `ja` selects Japanese; the rest gets English.
pub fn init(lang: Option<&str>) {
    rust_i18n::set_locale(resolve(lang));
}

/// Returns the language `init` would pick, `en` or `ja`, without setting it.
pub fn resolve(lang: Option<&str>) -> &'static str {
    let chosen = lang
        .map(str::to_string)
        .or_else(locale_from_env)
        .or_else(system_locale)
        .unwrap_or_default();
    if chosen.to_ascii_lowercase().starts_with("ja") {
        "ja"
    } else {
        "en"
    }
}

/// Returns the active message language, `en` or `ja`.
pub fn current() -> String {
    rust_i18n::locale().to_string()
}

fn locale_from_env() -> Option<String> {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.is_empty())
}

#[cfg(windows)]
fn system_locale() -> Option<String> {
    sys_locale::get_locale()
}

#[cfg(not(windows))]
fn system_locale() -> Option<String> {
    None
}

macro_rules! message {
    ($name:ident, $key:literal) => {
        pub fn $name() -> String {
            t!($key).into_owned()
        }
    };
    ($name:ident, $key:literal, $($arg:ident: $ty:ty),+) => {
        pub fn $name($($arg: $ty),+) -> String {
            t!($key, $($arg = $arg.to_string()),+).into_owned()
        }
    };
}

pub fn config_unreadable(path: &Path, err: &std::io::Error) -> String {
    t!(
        "config.unreadable",
        path = path.display().to_string(),
        error = err.to_string()
    )
    .into_owned()
}

pub fn server_unknown(name: &str, path: &Path) -> String {
    t!(
        "server.unknown",
        name = name,
        path = path.display().to_string()
    )
    .into_owned()
}

pub fn host_not_in_servers(host: &str, path: &Path) -> String {
    t!(
        "server.host_not_found",
        host = host,
        path = path.display().to_string()
    )
    .into_owned()
}

pub fn hint_servers(names: &[String]) -> String {
    t!("server.hint_names", names = names.join(", ")).into_owned()
}

pub fn hint_known_keys(closest: Option<&str>, allowed: &[&str]) -> String {
    match closest {
        Some(key) => t!(
            "config.hint_did_you_mean",
            key = key,
            keys = allowed.join(", ")
        )
        .into_owned(),
        None => t!("config.hint_known_keys", keys = allowed.join(", ")).into_owned(),
    }
}

message!(config_too_large, "config.too_large", size: usize, max: usize);
message!(config_not_utf8, "config.not_utf8", line: usize);
message!(config_utf16, "config.utf16");
message!(usage_invalid, "cli.invalid", detail: &str);
message!(hint_usage, "cli.hint_help");
message!(hook_path_control, "config.hook_path_control", path: &str);
message!(hint_hook_path_quotes, "config.hint_hook_path_quotes");
message!(hint_save_utf8, "config.hint_utf8");
message!(config_empty, "config.empty");
message!(hint_config_minimum, "config.hint_minimum");
message!(config_yaml_invalid, "config.yaml_invalid", detail: &str);
message!(config_not_mapping, "config.not_mapping");
message!(config_unknown_key, "config.unknown_key", key: &str);
message!(server_vpc_unattached, "topology.server_vpc_unattached", server: &str, vpc: &str);
message!(hint_attach_vpc, "topology.hint_attach_vpc", vpc: &str);
message!(vpc_section_unattached, "topology.vpc_section_unattached", vpc: &str);
message!(gateway_no_path, "topology.gateway_no_path", gateway: &str, server: &str, vpc: &str);
message!(hint_add_peering, "topology.hint_add_peering", gateway: &str);
message!(gateways_empty, "topology.gateways_empty");
message!(gateway_type_unknown, "topology.gateway_type_unknown", kind: &str);
message!(hint_gateway_type, "topology.hint_gateway_type");
message!(gateway_no_route_table, "topology.gateway_no_route_table", gateway: &str);
message!(hint_route_table, "topology.hint_route_table");
message!(duplicate_id, "topology.duplicate_id", id: &str);
message!(attachment_reused, "topology.attachment_reused", attachment: &str, first: &str, second: &str);
message!(peering_to_self, "topology.peering_to_self", gateway: &str);
message!(peer_unknown, "topology.peer_unknown", peer: &str);
message!(hint_peer_unknown, "topology.hint_peer_unknown", peer: &str);
message!(servers_empty, "topology.servers_empty");
message!(server_name_empty, "topology.server_name_empty");
message!(server_duplicate, "topology.server_duplicate", name: &str, other: &str);
message!(cidr_invalid, "topology.cidr_invalid", cidr: &str);
message!(vpc_gateway_not_attaching, "topology.vpc_gateway_not_attaching", vpc: &str, gateway: &str);
message!(vpc_in_two_regions, "topology.vpc_in_two_regions", vpc: &str);
message!(vpc_two_gateways, "topology.vpc_two_gateways", vpc: &str, gateways: &str);
message!(hint_vpc_gateway, "topology.hint_vpc_gateway", vpc: &str, gateway: &str);
message!(id_malformed, "topology.id_malformed", id: &str, prefix: &str);
message!(hint_id_shape, "topology.hint_id_shape", prefix: &str);
message!(region_malformed, "topology.region_malformed", region: &str);
message!(hint_region, "topology.hint_region");
message!(region_unknown, "topology.region_unknown", region: &str, key: &str);
message!(deadline_passed, "aws.deadline_passed");
message!(
    best_effort_deadline_passed,
    "aws.best_effort_deadline_passed"
);
message!(withheld_reason, "start.withheld_reason");
message!(timeout_invalid, "cli.timeout_invalid", seconds: f64);
message!(vip_missing, "cli.vip_missing");
message!(vip_invalid, "cli.vip_invalid", vip: &str);
message!(hint_vip, "cli.hint_vip");
message!(vip_inside_vpc, "cli.vip_inside_vpc", vip: &str, vpc: &str, cidr: &str);
message!(hint_vip_outside, "cli.hint_vip_outside");
message!(host_ambiguous, "server.host_ambiguous", host: &str, names: &str);
message!(hint_server_flag, "server.hint_flag");
message!(hint_server_names, "server.hint_flag_names", names: &str);
message!(server_ambiguous, "server.flag_ambiguous", name: &str, names: &str);
message!(policy_invalid, "config.policy_invalid", value: &str);
message!(hint_policy, "config.hint_policy");
message!(vpc_without_route, "plan.vpc_without_route", vpc: &str, destination: &str);
message!(start_vpc_unrouted, "start.vpc_unrouted", vpc: &str);
message!(multi_hop, "plan.multi_hop", gateway: &str, hops: usize, server: &str);
message!(error_prefix, "report.error");
message!(hint_prefix, "report.hint");
message!(warning_prefix, "report.warning");
message!(location_line, "report.location_line", file: &str, line: usize, key: &str);
message!(location_key, "report.location_key", file: &str, key: &str);
message!(location_file_line, "report.location_file_line", file: &str, line: usize);
message!(aws_failed, "aws.failed", operation: &str, resource: &str, region: &str, code: &str, message: &str);
message!(hint_aws_unreachable, "aws.hint_unreachable");
message!(hint_credentials, "aws.hint_credentials");
message!(credentials_missing, "aws.credentials_missing", profile: &str, detail: &str);
message!(hint_unauthorized, "aws.hint_unauthorized");
message!(deadline_command, "aws.deadline_command", seconds: f64);
message!(imds_answer_invalid, "imds.answer_invalid", path: &str, answer: &str);
message!(hint_imds, "imds.hint", server: &str);
message!(imds_failed, "imds.failed", path: &str, code: &str, detail: &str);
message!(hint_imds_unreachable, "imds.hint_unreachable");
message!(source_dest_check_on, "eni.source_dest_check_on", eni: &str, server: &str);
message!(source_dest_check_unread, "eni.source_dest_check_unread", eni: &str, error: &str);
message!(internal_error, "report.internal_error", detail: &str);
message!(hook_unreadable, "hooks.unreadable", path: &str, error: &str);
message!(hook_syntax, "hooks.syntax", path: &str, error: &str);
message!(hook_failed, "hooks.failed", path: &str, error: &str);
message!(hook_not_table, "hooks.not_table", path: &str, kind: &str);
message!(hook_not_function, "hooks.not_function", path: &str, name: &str, kind: &str);
message!(hook_time_limit, "hooks.time_limit", path: &str, line: usize, seconds: f64);
message!(hook_memory_limit, "hooks.memory_limit", mib: usize);
message!(hook_owner, "hooks.owner", path: &str, owner: u32, user: u32);
message!(hint_hook_owner, "hooks.hint_owner", path: &str, user: u32);
message!(hook_writable, "hooks.writable", path: &str, mode: &str);
message!(hint_hook_writable, "hooks.hint_writable", path: &str);
message!(hook_acl_writable, "hooks.acl_writable", path: &str, group: &str, sid: &str);
message!(hint_hook_acl_writable, "hooks.hint_acl_writable", path: &str, sid: &str);
message!(hook_acl_unreadable, "hooks.acl_unreadable", path: &str, error: &str);
message!(hint_hook_acl_unreadable, "hooks.hint_acl_unreadable");
message!(hook_run_timeout_invalid, "hooks.run_timeout_invalid", seconds: f64);
message!(hook_run_failed, "hooks.run_failed", program: &str, error: &str);
message!(hook_aborted, "hooks.aborted", path: &str, reason: &str);
message!(hook_no_reason, "hooks.no_reason");
message!(hook_region_unknown, "hooks.region_unknown", path: &str, region: &str, regions: &str);
message!(hook_route_invalid, "hooks.route_invalid", path: &str, detail: &str);
message!(hook_route_destination, "hooks.route_destination", destination: &str);
message!(hook_route_target, "hooks.route_target", table: &str, target: &str, expected: &str);
message!(hook_route_vpc, "hooks.route_vpc", table: &str);
message!(hook_route_table, "hooks.route_table", table: &str);
message!(hook_vpc_managed, "hooks.vpc_managed", path: &str, vpc: &str);
message!(hook_bad_decision, "hooks.bad_decision", location: &str, value: &str);
message!(hook_monitor_error, "hooks.monitor_error", error: &str);
message!(repair_refused, "monitor.repair_refused", server: &str);
message!(account_invalid, "iam.account_invalid", account: &str);
message!(hint_account, "iam.hint_account");
message!(check_resources_title, "check.resources_title");
message!(check_permissions_title, "check.permissions_title");
message!(check_resources_bad, "check.resources_bad", count: usize);
message!(check_resources_unchecked, "check.resources_unchecked", count: usize);
message!(check_unrouted, "check.unrouted", vpc: &str, destination: &str);
message!(check_missing_actions, "check.missing_actions", actions: &str);
message!(hint_iam_policy, "check.hint_iam_policy");
message!(check_ok, "check.ok");
message!(col_kind, "col.kind");
message!(col_id, "col.id");
message!(col_iam_action, "col.iam_action");
message!(kind_tgw_route_table, "kind.tgw_route_table");
message!(kind_tgw_attachment, "kind.tgw_attachment");
message!(kind_route_table, "kind.route_table");
message!(found_exists, "found.exists");
message!(found_not_found, "found.not_found");
message!(found_wrong_parent, "found.wrong_parent", expected: &str, actual: &str);
message!(not_checked, "check.not_checked", detail: &str);
message!(permission_allowed, "permission.allowed");
message!(permission_denied, "permission.denied");
