//! The `iam-policy` command: the least-privilege IAM policy for a config.
//!
//! Operators otherwise grant `ec2:*` because writing the policy by hand
//! means listing every route table ARN of every region. The policy is built
//! from the topology alone, without calling AWS.
//!
//! Describe actions accept only `Resource: "*"`, and Search is granted the
//! same way. Route writes on listed VPC route tables name those tables.
//! ReplaceRoute on the other tables of a managed VPC, which are found at
//! run time by their VIP route, is limited with the `ec2:Vpc` condition
//! key. TGW route writes name the TGW route tables and the attachments
//! they point at.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::topology::Topology;

/// Read actions that `start`, `monitor`, `status` and `plan` use.
const READ_ACTIONS: [&str; 2] = ["ec2:DescribeRouteTables", "ec2:SearchTransitGatewayRoutes"];

/// Extra read actions that only `check` uses.
const CHECK_ACTIONS: [&str; 5] = [
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeTransitGatewayAttachments",
    "ec2:DescribeTransitGatewayRouteTables",
    "ec2:DescribeTransitGateways",
    "ec2:DescribeVpcs",
];

/// Checks an account id: 12 digits, or `*` for any account.
pub fn valid_account(account: &str) -> bool {
    account == "*" || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
}

/// Returns the ARN partition of a region, because China and GovCloud
/// regions have their own.
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn arn(region: &str, account: &str, resource: &str) -> String {
    format!(
        "arn:{}:ec2:{region}:{account}:{resource}",
        partition(region)
    )
}

/// Builds the policy document for `topology`; `account` is a 12-digit id
/// or `*`.
pub fn policy(topology: &Topology, account: &str) -> Value {
    let mut statements = vec![
        json!({
            "Sid": "ReadRoutes",
            "Effect": "Allow",
            "Action": READ_ACTIONS,
            "Resource": "*",
        }),
        json!({
            "Sid": "ReadForCheck",
            "Effect": "Allow",
            "Action": CHECK_ACTIONS,
            "Resource": "*",
        }),
    ];

    // With an ENI known, start and monitor read its source/destination
    // check, which must be off for the instance to accept VIP traffic.
    if topology.servers.iter().any(|server| server.eni.is_some()) {
        statements.push(json!({
            "Sid": "ReadSourceDestCheck",
            "Effect": "Allow",
            "Action": ["ec2:DescribeNetworkInterfaceAttribute"],
            "Resource": "*",
        }));
    }

    let listed = listed_table_arns(topology, account);
    if !listed.is_empty() {
        statements.push(json!({
            "Sid": "WriteListedVpcRouteTables",
            "Effect": "Allow",
            "Action": ["ec2:CreateRoute", "ec2:ReplaceRoute"],
            "Resource": listed,
        }));
    }
    statements.push(discovered_tables_statement(topology, account));
    statements.push(tgw_statement(topology, account));

    json!({
        "Version": "2012-10-17",
        "Statement": statements,
    })
}

fn listed_table_arns(topology: &Topology, account: &str) -> Vec<String> {
    let arns: BTreeSet<String> = topology
        .vpcs
        .values()
        .flat_map(|vpc| {
            vpc.explicit_tables
                .iter()
                .map(|table| arn(&vpc.region, account, &format!("route-table/{table}")))
        })
        .collect();
    arns.into_iter().collect()
}

/// ReplaceRoute on any route table of a managed VPC, because tables that
/// already hold a VIP route are found at run time and their ids are not in
/// the config.
fn discovered_tables_statement(topology: &Topology, account: &str) -> Value {
    let mut tables = BTreeSet::new();
    let mut vpcs = BTreeSet::new();
    for vpc in topology.vpcs.values() {
        tables.insert(arn(&vpc.region, account, "route-table/*"));
        vpcs.insert(arn(&vpc.region, account, &format!("vpc/{}", vpc.id)));
    }
    json!({
        "Sid": "ReplaceVipRoutesInManagedVpcs",
        "Effect": "Allow",
        "Action": ["ec2:ReplaceRoute"],
        "Resource": tables,
        "Condition": {"ArnEquals": {"ec2:Vpc": vpcs}},
    })
}

fn tgw_statement(topology: &Topology, account: &str) -> Value {
    let mut resources: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for gateway in topology.gateways.values() {
        let region = gateway.region.as_str();
        for table in &gateway.route_tables {
            let resource = format!("transit-gateway-route-table/{table}");
            resources
                .entry("tables")
                .or_default()
                .insert(arn(region, account, &resource));
        }
        for attachment in gateway.attachments.keys().chain(gateway.peerings.values()) {
            let resource = format!("transit-gateway-attachment/{attachment}");
            resources
                .entry("attachments")
                .or_default()
                .insert(arn(region, account, &resource));
        }
    }
    let all: Vec<String> = resources.into_values().flatten().collect();
    json!({
        "Sid": "WriteTransitGatewayRoutes",
        "Effect": "Allow",
        "Action": ["ec2:CreateTransitGatewayRoute", "ec2:ReplaceTransitGatewayRoute"],
        "Resource": all,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_must_be_twelve_digits_or_star() {
        assert!(valid_account("123456789012"));
        assert!(valid_account("*"));
        assert!(!valid_account("12345678901"));
        assert!(!valid_account("12345678901a"));
    }

    #[test]
    fn partition_follows_region() {
        assert_eq!(partition("ap-northeast-1"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    }
}
