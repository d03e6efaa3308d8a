//! The configuration file as written on disk.
//!
//! This module only reads YAML into plain records that mirror the file, and
//! rejects keys it does not know. Whether the ids fit together into a routable
//! topology is decided in `topology`, which turns these records into typed
//! values. Every error names the key path and, where it can be found, the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value;

/// Largest configuration file accepted. A tgw.conf for a large estate is a few
/// hundred kilobytes, so anything past this is a wrong file.
pub const MAX_CONFIG_BYTES: usize = 4 * 1024 * 1024;

/// The whole file: the original `servers` and `gateways`, plus optional
/// sections that the original script did not have.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub servers: BTreeMap<String, RawServer>,
    pub gateways: BTreeMap<String, RawGateway>,
    #[serde(default)]
    pub vpcs: BTreeMap<String, RawVpc>,
    #[serde(default)]
    pub vips: Vec<String>,
    #[serde(default)]
    pub aws: RawAws,
    #[serde(default)]
    pub start: RawStart,
    #[serde(default)]
    pub monitor: RawMonitor,
    #[serde(default)]
    pub hooks: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub vpc: String,
    pub eni: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGateway {
    #[serde(rename = "type")]
    pub kind: String,
    pub region: String,
    #[serde(rename = "routeTable")]
    pub route_table: Option<String>,
    #[serde(rename = "routeTables", default)]
    pub route_tables: Vec<String>,
    #[serde(default)]
    pub attaches: BTreeMap<String, String>,
    #[serde(default)]
    pub peerings: BTreeMap<String, String>,
}

/// Per-VPC settings, for client VPCs and for VPCs whose tables are listed.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawVpc {
    #[serde(rename = "routeTables", default)]
    pub route_tables: Vec<String>,
    /// The Transit Gateway this VPC's tables point at when it is attached to
    /// more than one.
    pub gateway: Option<String>,
    /// CIDR blocks of the VPC, used to reject a VIP inside them.
    #[serde(default)]
    pub cidrs: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawAws {
    /// Endpoint URL for every region (a proxy or the test emulator).
    #[serde(rename = "endpointUrl")]
    pub endpoint_url: Option<String>,
    /// Endpoint URL per region, taking precedence over `endpointUrl`.
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
    pub profile: Option<String>,
    /// Seconds allowed to open a connection.
    #[serde(rename = "connectTimeout")]
    pub connect_timeout: Option<f64>,
    /// Seconds allowed for one attempt of one call.
    #[serde(rename = "callTimeout")]
    pub call_timeout: Option<f64>,
    /// Attempts per call, the first included.
    #[serde(rename = "maxAttempts")]
    pub max_attempts: Option<u32>,
    /// Calls in flight at once across all regions.
    pub concurrency: Option<usize>,
    /// Instance metadata endpoint for `eni: auto`, taking precedence over
    /// AWS_EC2_METADATA_SERVICE_ENDPOINT.
    #[serde(rename = "imdsEndpoint")]
    pub imds_endpoint: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawStart {
    /// When true, routes outside the active server's region are required too.
    #[serde(default)]
    pub strict: bool,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawMonitor {
    /// The monitor policy for an AWS API failure: ignore, warn or fail.
    #[serde(rename = "onApiError")]
    pub on_api_error: Option<String>,
    /// When true, monitor rewrites drifting routes and checks again.
    #[serde(default)]
    pub repair: bool,
}

/// A configuration problem, with where it sits in the file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    pub file: PathBuf,
    /// Dotted key path, such as `gateways.tgw-0123.region`.
    pub key: String,
    pub line: Option<usize>,
    pub message: String,
    pub hint: Option<String>,
}

/// The file text with its parsed records, kept together so that later checks
/// can still point at a line.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub path: PathBuf,
    pub text: String,
    pub raw: RawConfig,
}

impl LoadedConfig {
    /// Builds an error for `key` with the line where that key sits. When
    /// the full path cannot be found, such as an item of a flow list, the
    /// line of the nearest enclosing key is used.
    pub fn error(&self, key: &[&str], message: String, hint: Option<String>) -> ConfigError {
        let line = locate_item(&self.text, key).or_else(|| {
            (1..=key.len())
                .rev()
                .find_map(|depth| locate_key(&self.text, &key[..depth]))
        });
        ConfigError {
            file: self.path.clone(),
            key: key.join("."),
            line,
            message,
            hint,
        }
    }
}

/// Reads and parses the file at `path`. Nothing else is contacted.
pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let bytes = std::fs::read(path).map_err(|err| ConfigError {
        file: path.to_path_buf(),
        key: String::new(),
        line: None,
        message: crate::messages::config_unreadable(path, &err),
        hint: None,
    })?;
    parse(path, &bytes)
}

/// Parses configuration bytes; `path` is used in messages only.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<LoadedConfig, ConfigError> {
    let whole = |message: String, hint: Option<String>| ConfigError {
        file: path.to_path_buf(),
        key: String::new(),
        line: None,
        message,
        hint,
    };

    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(whole(
            crate::messages::config_too_large(bytes.len(), MAX_CONFIG_BYTES),
            None,
        ));
    }
    if looks_like_utf16(bytes) {
        return Err(whole(
            crate::messages::config_utf16(),
            Some(crate::messages::hint_save_utf8()),
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.replace("\r\n", "\n"),
        Err(err) => {
            let line = bytes[..err.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            let mut error = whole(
                crate::messages::config_not_utf8(line),
                Some(crate::messages::hint_save_utf8()),
            );
            error.line = Some(line);
            return Err(error);
        }
    };
    if text.trim().is_empty() {
        return Err(whole(
            crate::messages::config_empty(),
            Some(crate::messages::hint_config_minimum()),
        ));
    }

    let value: Value = serde_yaml::from_str(&text).map_err(|err| yaml_error(path, &err))?;
    check_keys(path, &text, &value)?;
    // Typed parsing from the text, not from `value`, keeps the error's line.
    let raw: RawConfig = serde_yaml::from_str(&text).map_err(|err| {
        let mut error = yaml_error(path, &err);
        error.line = error.line.or_else(|| locate_from_message(&text, &err));
        error
    })?;

    Ok(LoadedConfig {
        path: path.to_path_buf(),
        text,
        raw,
    })
}

fn yaml_error(path: &Path, err: &serde_yaml::Error) -> ConfigError {
    let message = err.to_string();
    let key = message
        .split_once(": ")
        .map(|(head, _)| head)
        .filter(|head| !head.contains(' '))
        .unwrap_or("")
        .to_string();
    ConfigError {
        file: path.to_path_buf(),
        key,
        line: err.location().map(|loc| loc.line()),
        message: crate::messages::config_yaml_invalid(&message),
        hint: None,
    }
}

/// Finds the line of the key path that a typed-deserialization error names.
fn locate_from_message(text: &str, err: &serde_yaml::Error) -> Option<usize> {
    let message = err.to_string();
    let (head, _) = message.split_once(": ")?;
    let path: Vec<&str> = head.split('.').collect();
    locate_key(text, &path)
}

/// Returns the keys each section accepts, used to reject unknown keys with the
/// closest known one as a hint.
fn known_keys(path: &[String]) -> Option<&'static [&'static str]> {
    let depth = path.len();
    match (depth, path.first().map(String::as_str)) {
        (0, _) => Some(&[
            "servers", "gateways", "vpcs", "vips", "aws", "start", "monitor", "hooks",
        ]),
        (2, Some("servers")) => Some(&["vpc", "eni"]),
        (2, Some("gateways")) => Some(&[
            "type",
            "region",
            "routeTable",
            "routeTables",
            "attaches",
            "peerings",
        ]),
        (2, Some("vpcs")) => Some(&["routeTables", "gateway", "cidrs"]),
        (1, Some("aws")) => Some(&[
            "endpointUrl",
            "endpoints",
            "profile",
            "connectTimeout",
            "callTimeout",
            "maxAttempts",
            "concurrency",
            "imdsEndpoint",
        ]),
        (1, Some("start")) => Some(&["strict"]),
        (1, Some("monitor")) => Some(&["onApiError", "repair"]),
        _ => None,
    }
}

/// Walks the parsed document and rejects a mapping key that its section
/// does not define, naming the closest known key.
fn check_keys(path: &Path, text: &str, value: &Value) -> Result<(), ConfigError> {
    let mut stack: Vec<(Vec<String>, &Value)> = vec![(Vec::new(), value)];

    while let Some((key_path, node)) = stack.pop() {
        let Value::Mapping(map) = node else {
            if key_path.is_empty() {
                return Err(ConfigError {
                    file: path.to_path_buf(),
                    key: String::new(),
                    line: Some(1),
                    message: crate::messages::config_not_mapping(),
                    hint: Some(crate::messages::hint_config_minimum()),
                });
            }
            continue;
        };
        let allowed = known_keys(&key_path);
        for (key, child) in map {
            let name = match key {
                Value::String(name) => name.clone(),
                other => serde_yaml::to_string(other)
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            };
            let mut child_path = key_path.clone();
            child_path.push(name.clone());
            if let Some(allowed) = allowed {
                if !allowed.contains(&name.as_str()) {
                    let parts: Vec<&str> = child_path.iter().map(String::as_str).collect();
                    return Err(ConfigError {
                        file: path.to_path_buf(),
                        key: child_path.join("."),
                        line: locate_key(text, &parts),
                        message: crate::messages::config_unknown_key(&name),
                        hint: Some(crate::messages::hint_known_keys(
                            closest(&name, allowed),
                            allowed,
                        )),
                    });
                }
            }
            if child_path.len() <= 2 {
                stack.push((child_path, child));
            }
        }
    }
    Ok(())
}

/// Returns the known key nearest to `name` by edit distance, when it is close enough
/// to be a likely typo.
pub fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    candidates
        .iter()
        .map(|candidate| {
            (
                edit_distance(&lower, &candidate.to_ascii_lowercase()),
                *candidate,
            )
        })
        .filter(|(distance, candidate)| *distance <= candidate.len().max(3) / 3 + 1)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Finds the 1-based line of a key path in YAML text. The search follows
/// indentation for block mappings and looks inside the line for flow
/// mappings (`{vpc: vpc-1}`), which covers the layouts a person writes.
pub fn locate_key(text: &str, path: &[&str]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut start = 0;
    let mut end = lines.len();
    let mut parent_indent: Option<usize> = None;
    let mut found = None;

    for key in path {
        let mut hit = None;
        let mut child_indent = None;
        for (index, line) in lines.iter().enumerate().take(end).skip(start) {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = line.len() - trimmed.len();
            let is_parent_line = found.is_some() && index == start;
            if parent_indent.is_some_and(|parent| indent <= parent) && !is_parent_line {
                break;
            }
            if is_parent_line {
                if flow_has_key(line, key) {
                    return Some(index + 1);
                }
                continue;
            }
            // Only direct children count: a deeper line with the same key
            // belongs to another entry.
            let depth = *child_indent.get_or_insert(indent);
            if indent == depth && line_has_key(trimmed, key) {
                hit = Some((index, indent));
                break;
            }
        }
        let (index, indent) = hit?;
        found = Some(index + 1);
        start = index;
        parent_indent = Some(indent);
        end = lines.len();
    }
    found
}

/// Finds the line of a list item whose path ends in its index, such as
/// `vips.1`, when the list is written as a block sequence (`- item` lines).
fn locate_item(text: &str, path: &[&str]) -> Option<usize> {
    let (index, parent) = path.split_last()?;
    let index: usize = index.parse().ok()?;
    let parent_line = locate_key(text, parent)?;
    let lines: Vec<&str> = text.lines().collect();
    let parent_text = lines.get(parent_line - 1)?;
    let parent_indent = parent_text.len() - parent_text.trim_start().len();

    let mut items = 0;
    for (offset, line) in lines.iter().enumerate().skip(parent_line) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let is_item = trimmed == "-" || trimmed.starts_with("- ");
        // A sequence may sit at the parent's own indentation in YAML.
        if indent < parent_indent || (indent == parent_indent && !is_item) {
            return None;
        }
        if is_item {
            if items == index {
                return Some(offset + 1);
            }
            items += 1;
        }
    }
    None
}

fn line_has_key(trimmed: &str, key: &str) -> bool {
    let trimmed = trimmed.trim_start_matches("- ");
    let unquoted = trimmed
        .strip_prefix('"')
        .and_then(|rest| rest.strip_prefix(key))
        .and_then(|rest| rest.strip_prefix('"'))
        .or_else(|| {
            trimmed
                .strip_prefix('\'')
                .and_then(|rest| rest.strip_prefix(key))
                .and_then(|rest| rest.strip_prefix('\''))
        })
        .or_else(|| trimmed.strip_prefix(key));
    unquoted.is_some_and(|rest| rest.trim_start().starts_with(':'))
}

/// Tells a UTF-16 file apart from other non-UTF-8 text: Notepad's "Unicode"
/// and the PowerShell 5 `>` redirection both write one, with a byte order mark.
/// Without the mark, a NUL in one of the first two bytes shows it.
fn looks_like_utf16(bytes: &[u8]) -> bool {
    let marked = bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF");
    let unmarked = bytes.len() >= 2 && (bytes[0] == 0) != (bytes[1] == 0);

    marked || unmarked
}

fn flow_has_key(line: &str, key: &str) -> bool {
    line.contains('{')
        && (line.contains(&format!("{{{key}:")) || line.contains(&format!(" {key}:")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = "servers:
    server-a.test.local:
        vpc: vpc-1234abcd

    server-b.test.local:
        vpc: vpc-5678cdef

gateways:
    tgw-aaaaaaaaaaaaaaaaa:
        type: tgw
        region: ap-northeast-1
        routeTable: tgw-rtb-aaaaaaaaaaaaaaaaa
        attaches:
            tgw-attach-aaaaaaaaaaaaaaaaa: vpc-1234abcd
        peerings:
            tgw-bbbbbbbbbbbbbbbbb: tgw-attach-xxxxxxxxxxxxxxxxx

    tgw-bbbbbbbbbbbbbbbbb:
        type: tgw
        region: ap-southeast-1
        routeTable: tgw-rtb-bbbbbbbbbbbbbbbbb
        attaches:
            tgw-attach-bbbbbbbbbbbbbbbbb: vpc-5678cdef
        peerings:
            tgw-aaaaaaaaaaaaaaaaa: tgw-attach-xxxxxxxxxxxxxxxxx
";

    fn parse_str(text: &str) -> Result<LoadedConfig, ConfigError> {
        parse(Path::new("tgw.conf"), text.as_bytes())
    }

    #[test]
    fn original_format_loads() {
        let loaded = parse_str(ORIGINAL).unwrap();
        assert_eq!(loaded.raw.servers.len(), 2);
        let tgw = &loaded.raw.gateways["tgw-aaaaaaaaaaaaaaaaa"];
        assert_eq!(tgw.region, "ap-northeast-1");
        assert_eq!(
            tgw.route_table.as_deref(),
            Some("tgw-rtb-aaaaaaaaaaaaaaaaa")
        );
        assert_eq!(
            tgw.peerings["tgw-bbbbbbbbbbbbbbbbb"],
            "tgw-attach-xxxxxxxxxxxxxxxxx"
        );
    }

    #[test]
    fn unknown_key_names_path_line_and_hint() {
        let text = ORIGINAL.replace(
            "        routeTable: tgw-rtb-b",
            "        routTable: tgw-rtb-b",
        );
        let err = parse_str(&text).unwrap_err();
        assert_eq!(err.key, "gateways.tgw-bbbbbbbbbbbbbbbbb.routTable");
        assert_eq!(err.line, Some(21));
        assert!(err.hint.unwrap().contains("routeTable"));
    }

    #[test]
    fn wrong_type_names_line() {
        let text = ORIGINAL.replace(
            "            tgw-attach-aaaaaaaaaaaaaaaaa: vpc-1234abcd",
            "            - vpc-1234abcd",
        );
        let err = parse_str(&text).unwrap_err();
        assert!(err.key.contains("attaches"), "{err:?}");
        assert!(err.line.is_some(), "{err:?}");
    }

    #[test]
    fn flow_style_key_is_located() {
        let text = "servers:\n  a: {vpc: vpc-1, enii: eni-1}\ngateways: {}\n";
        let err = parse_str(text).unwrap_err();
        assert_eq!(err.key, "servers.a.enii");
        assert_eq!(err.line, Some(2));
    }

    #[test]
    fn key_after_sibling_naming_it_is_located() {
        let text = "gateways:
  tgw-a:
    region: ap-northeast-1
    peerings: {tgw-b: tgw-attach-1}
  tgw-b:
    regoin: ap-southeast-1
";

        assert_eq!(locate_key(text, &["gateways", "tgw-b"]), Some(5));
        assert_eq!(locate_key(text, &["gateways", "tgw-b", "regoin"]), Some(6));
    }

    #[test]
    fn utf16_is_told_apart_from_utf8() {
        assert!(looks_like_utf16(b"\xFF\xFEs\x00"));
        assert!(looks_like_utf16(b"\xFE\xFF\x00s"));
        assert!(looks_like_utf16(b"s\x00e\x00"));
        assert!(!looks_like_utf16(b"\xEF\xBB\xBFservers:"));
        assert!(!looks_like_utf16(b"servers:"));
        assert!(!looks_like_utf16(b"\x83\x4e"));
    }

    #[test]
    fn byte_order_mark_and_crlf_are_accepted() {
        let text = format!("\u{feff}{}", ORIGINAL.replace('\n', "\r\n"));
        let loaded = parse_str(&text).unwrap();
        assert_eq!(loaded.raw.gateways.len(), 2);
    }

    #[test]
    fn non_utf8_is_rejected_with_line() {
        let mut bytes = b"servers:\n  # \x93\xfa\x96\x7b\n".to_vec();
        bytes.extend_from_slice(b"gateways: {}\n");
        let err = parse(Path::new("tgw.conf"), &bytes).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.hint.is_some());
    }

    #[test]
    fn empty_file_is_rejected() {
        let err = parse_str("  \n").unwrap_err();
        assert!(err.hint.is_some());
    }

    #[test]
    fn duplicate_key_is_rejected() {
        let text = "servers:\n  a: {vpc: vpc-1}\n  a: {vpc: vpc-2}\ngateways: {}\n";
        let err = parse_str(text).unwrap_err();
        assert!(err.message.contains("duplicate"), "{}", err.message);
    }

    #[test]
    fn list_item_is_located() {
        let text = "servers: {}\ngateways: {}\nvips:\n  - 172.16.0.1\n  # second\n  - 172.16.0.300\nhooks: [a.lua]\n";
        let loaded = parse_str(text).unwrap();
        assert_eq!(
            loaded.error(&["vips", "1"], String::new(), None).line,
            Some(6)
        );
        assert_eq!(
            loaded.error(&["hooks", "0"], String::new(), None).line,
            Some(7)
        );
    }

    #[test]
    fn closest_suggests_typo_only() {
        assert_eq!(
            closest("routTable", &["routeTable", "region"]),
            Some("routeTable")
        );
        assert_eq!(closest("zzzzzz", &["routeTable", "region"]), None);
    }
}
