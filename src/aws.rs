//! Every call to AWS goes through this module.
//!
//! `Ec2` wraps one EC2 client per region behind methods that speak of route
//! tables and routes. Each call has a per-attempt timeout, is retried with
//! jittered exponential backoff on throttling, 5xx responses and transport
//! errors, and never outlives the command's deadline. The SDK's own retry
//! loop is turned off so that each retry is logged with the table id.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::Filter;
use aws_sdk_ec2::Client;
use aws_types::region::Region;
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::plan::{ObservedRoute, ObservedTable, RouteState, Target};

/// Maps each existing id to its owners. An ENI or a route table has its
/// VPC, a TGW route table its Transit Gateway, and an attachment its
/// Transit Gateway and attached resource. A VPC or a Transit Gateway maps
/// to itself.
pub type Owners = BTreeMap<String, Vec<String>>;

/// First backoff before a retry; each later wait doubles up to the cap.
const RETRY_BASE: Duration = Duration::from_millis(200);
/// Maximum wait between two attempts of one call.
const RETRY_CAP: Duration = Duration::from_secs(5);
/// Attempts per call, the first included, when the config sets none.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// Seconds to open a connection, when the config sets none.
pub const DEFAULT_CONNECT_TIMEOUT: f64 = 3.0;
/// Seconds for one attempt of one call, when the config sets none.
pub const DEFAULT_CALL_TIMEOUT: f64 = 10.0;
/// Calls in flight at once, when the config sets none.
pub const DEFAULT_CONCURRENCY: usize = 32;

/// The class of an AWS call failure, in the terms that decide retries and exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Throttled,
    ServerError,
    Timeout,
    Connection,
    Credentials,
    Unauthorized,
    NotFound,
    AlreadyExists,
    Client,
    /// The command's deadline passed before the call finished.
    Deadline,
}

impl ErrorKind {
    fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled
                | ErrorKind::ServerError
                | ErrorKind::Timeout
                | ErrorKind::Connection
        )
    }

    /// Tells whether the failure means AWS could not be reached or used at all,
    /// as opposed to AWS rejecting this one request.
    pub fn is_unreachable(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled
                | ErrorKind::ServerError
                | ErrorKind::Timeout
                | ErrorKind::Connection
                | ErrorKind::Credentials
                | ErrorKind::Deadline
        )
    }
}

/// A failed AWS call: the operation, where, and the AWS error code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwsError {
    pub operation: String,
    pub region: String,
    /// The table, gateway or other id the call was about.
    pub resource: String,
    pub code: String,
    pub message: String,
    pub kind: ErrorKind,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({}): {}: {}",
            self.operation, self.resource, self.region, self.code, self.message
        )
    }
}

impl std::error::Error for AwsError {}

impl AwsError {
    /// Builds an error for unit tests of code that only reads the fields.
    pub fn test(operation: &str, code: &str) -> Self {
        AwsError {
            operation: operation.to_string(),
            region: "ap-northeast-1".to_string(),
            resource: String::new(),
            code: code.to_string(),
            message: String::new(),
            kind: ErrorKind::Timeout,
        }
    }
}

/// Settings for every client, from the `aws` section and the command line.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    pub endpoint_url: Option<String>,
    pub endpoints: BTreeMap<String, String>,
    pub profile: Option<String>,
    pub connect_timeout: Duration,
    pub call_timeout: Duration,
    pub max_attempts: u32,
    pub concurrency: usize,
    /// Instance metadata endpoint from the config, for `eni: auto`.
    pub imds_endpoint: Option<String>,
}

impl AwsSettings {
    pub fn from_config(raw: &crate::config::RawAws) -> Self {
        let seconds = |value: Option<f64>, default: f64| {
            Duration::from_secs_f64(
                value
                    .filter(|v| v.is_finite() && *v > 0.0)
                    .unwrap_or(default),
            )
        };
        AwsSettings {
            endpoint_url: raw.endpoint_url.clone(),
            endpoints: raw.endpoints.clone(),
            profile: raw.profile.clone(),
            connect_timeout: seconds(raw.connect_timeout, DEFAULT_CONNECT_TIMEOUT),
            call_timeout: seconds(raw.call_timeout, DEFAULT_CALL_TIMEOUT),
            max_attempts: raw.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1),
            concurrency: raw.concurrency.unwrap_or(DEFAULT_CONCURRENCY).max(1),
            imds_endpoint: raw.imds_endpoint.clone(),
        }
    }
}

/// EC2 clients for every managed region, sharing one credential chain.
#[derive(Clone)]
pub struct Ec2 {
    clients: Arc<BTreeMap<String, Client>>,
    limit: Arc<Semaphore>,
    max_attempts: u32,
    deadline: Instant,
    /// Set for the clients of best-effort reads, whose deadline comes
    /// before the command's, so that giving up is reported as such.
    best_effort: bool,
}

/// A route write to perform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Replace,
    Create,
}

impl Ec2 {
    /// Loads the credential chain once and builds a client per region.
    /// Credentials are resolved here, so a missing or broken source fails
    /// before any route is read or written.
    pub async fn connect(
        settings: &AwsSettings,
        regions: &[String],
        home_region: &str,
        deadline: Instant,
    ) -> Result<Self, AwsError> {
        let sdk = load_sdk_config(settings, home_region).await;
        let profile = settings
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok())
            .unwrap_or_else(|| "default".to_string());
        resolve_credentials(&sdk, &profile, home_region, deadline).await?;

        let mut clients = BTreeMap::new();
        for region in regions {
            let mut builder =
                aws_sdk_ec2::config::Builder::from(&sdk).region(Region::new(region.clone()));
            let endpoint = settings
                .endpoints
                .get(region)
                .or(settings.endpoint_url.as_ref());
            if let Some(url) = endpoint {
                builder = builder.endpoint_url(url);
            }
            clients.insert(region.clone(), Client::from_conf(builder.build()));
        }
        Ok(Ec2 {
            clients: Arc::new(clients),
            limit: Arc::new(Semaphore::new(settings.concurrency)),
            max_attempts: settings.max_attempts,
            deadline,
            best_effort: false,
        })
    }

    /// The same clients with an earlier deadline, for best-effort calls
    /// that give up sooner to leave the rest of the time to required ones.
    pub fn with_deadline(&self, deadline: Instant) -> Ec2 {
        Ec2 {
            deadline: deadline.min(self.deadline),
            best_effort: true,
            ..self.clone()
        }
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    fn client(&self, region: &str) -> &Client {
        self.clients
            .get(region)
            .expect("a client exists for every region of the topology")
    }

    /// Reads the route tables of `vpcs` in `region`. When `all_tables` is
    /// false, only tables holding one of `destinations` are returned, which
    /// lets AWS do the filtering; listed tables need every table read.
    pub async fn vpc_tables(
        &self,
        region: &str,
        vpcs: &[String],
        destinations: &[String],
        all_tables: bool,
    ) -> Result<Vec<(String, String, ObservedTable)>, AwsError> {
        let resource = vpcs.join(",");
        self.call("DescribeRouteTables", region, &resource, || async {
            let mut request = self
                .client(region)
                .describe_route_tables()
                .filters(filter("vpc-id", vpcs.iter().cloned()));
            if !all_tables {
                let (v4, v6): (Vec<_>, Vec<_>) =
                    destinations.iter().cloned().partition(|d| !d.contains(':'));
                if !v4.is_empty() {
                    request = request.filters(filter("route.destination-cidr-block", v4));
                }
                if !v6.is_empty() {
                    request = request.filters(filter("route.destination-ipv6-cidr-block", v6));
                }
            }
            let pages: Vec<_> = request
                .into_paginator()
                .items()
                .send()
                .collect::<Vec<_>>()
                .await;
            let mut tables = Vec::new();
            for page in pages {
                let table = page?;
                tables.push(read_vpc_table(&table, destinations));
            }
            Ok(tables)
        })
        .await
    }

    /// Reads the routes for `destination` in one TGW route table with an
    /// exact-match search, splitting static from propagated routes.
    pub async fn tgw_table(
        &self,
        region: &str,
        table: &str,
        destination: &str,
    ) -> Result<ObservedTable, AwsError> {
        self.call("SearchTransitGatewayRoutes", region, table, || async {
            let output = self
                .client(region)
                .search_transit_gateway_routes()
                .transit_gateway_route_table_id(table)
                .filters(filter(
                    "route-search.exact-match",
                    [destination.to_string()],
                ))
                .send()
                .await?;
            let mut observed = ObservedTable::default();
            for route in output.routes() {
                if route.destination_cidr_block() != Some(destination) {
                    continue;
                }
                let target = route
                    .transit_gateway_attachments()
                    .first()
                    .and_then(|a| a.transit_gateway_attachment_id())
                    .map(|id| Target::Attachment(id.to_string()))
                    .unwrap_or(Target::Blackhole);
                let state = RouteState::parse(route.state().map(|s| s.as_str()).unwrap_or(""));
                let entry = ObservedRoute { target, state };
                let is_static = route.r#type().map(|t| t.as_str()) == Some("static");
                let map = if is_static {
                    &mut observed.routes
                } else {
                    &mut observed.propagated
                };
                map.insert(destination.to_string(), entry);
            }
            Ok(observed)
        })
        .await
    }

    /// Points `destination` in a VPC route table at `target`.
    pub async fn write_vpc_route(
        &self,
        region: &str,
        table: &str,
        destination: &str,
        target: &Target,
        write: Write,
    ) -> Result<(), AwsError> {
        let v6 = destination.contains(':');
        match write {
            Write::Replace => {
                self.call("ReplaceRoute", region, table, || async {
                    let mut request = self.client(region).replace_route().route_table_id(table);
                    request = if v6 {
                        request.destination_ipv6_cidr_block(destination)
                    } else {
                        request.destination_cidr_block(destination)
                    };
                    request = match target {
                        Target::Eni(id) => request.network_interface_id(id),
                        other => request.transit_gateway_id(other.id()),
                    };
                    request.send().await.map(|_| ())
                })
                .await
            }
            Write::Create => {
                self.call("CreateRoute", region, table, || async {
                    let mut request = self.client(region).create_route().route_table_id(table);
                    request = if v6 {
                        request.destination_ipv6_cidr_block(destination)
                    } else {
                        request.destination_cidr_block(destination)
                    };
                    request = match target {
                        Target::Eni(id) => request.network_interface_id(id),
                        other => request.transit_gateway_id(other.id()),
                    };
                    request.send().await.map(|_| ())
                })
                .await
            }
        }
    }

    /// Points `destination` in a TGW route table at an attachment with a
    /// static route.
    pub async fn write_tgw_route(
        &self,
        region: &str,
        table: &str,
        destination: &str,
        attachment: &str,
        write: Write,
    ) -> Result<(), AwsError> {
        match write {
            Write::Replace => {
                self.call("ReplaceTransitGatewayRoute", region, table, || async {
                    self.client(region)
                        .replace_transit_gateway_route()
                        .transit_gateway_route_table_id(table)
                        .destination_cidr_block(destination)
                        .transit_gateway_attachment_id(attachment)
                        .send()
                        .await
                        .map(|_| ())
                })
                .await
            }
            Write::Create => {
                self.call("CreateTransitGatewayRoute", region, table, || async {
                    self.client(region)
                        .create_transit_gateway_route()
                        .transit_gateway_route_table_id(table)
                        .destination_cidr_block(destination)
                        .transit_gateway_attachment_id(attachment)
                        .send()
                        .await
                        .map(|_| ())
                })
                .await
            }
        }
    }

    /// Returns which of the VPC `ids` exist in `region`. A filter, unlike
    /// an id list, lets AWS skip unknown ids instead of failing the call.
    pub async fn existing_vpcs(&self, region: &str, ids: &[String]) -> Result<Owners, AwsError> {
        self.call("DescribeVpcs", region, &ids.join(","), || async {
            let request = self
                .client(region)
                .describe_vpcs()
                .filters(filter("vpc-id", ids.iter().cloned()));
            let mut found = BTreeMap::new();
            for page in request
                .into_paginator()
                .items()
                .send()
                .collect::<Vec<_>>()
                .await
            {
                let vpc = page?;
                let id = vpc.vpc_id().unwrap_or_default().to_string();
                found.insert(id.clone(), vec![id]);
            }
            Ok(found)
        })
        .await
    }

    /// Reads whether the source/destination check is on for `eni`. When it
    /// is on, the instance drops packets addressed to the VIP.
    pub async fn source_dest_check(&self, region: &str, eni: &str) -> Result<bool, AwsError> {
        self.call("DescribeNetworkInterfaceAttribute", region, eni, || async {
            let output = self
                .client(region)
                .describe_network_interface_attribute()
                .network_interface_id(eni)
                .attribute(aws_sdk_ec2::types::NetworkInterfaceAttribute::SourceDestCheck)
                .send()
                .await?;
            // A missing value counts as on, so the warning errs on the safe side.
            Ok(output
                .source_dest_check()
                .and_then(|value| value.value())
                .unwrap_or(true))
        })
        .await
    }

    /// Returns the ENIs among `ids` that exist in `region`, each with its VPC.
    pub async fn existing_enis(&self, region: &str, ids: &[String]) -> Result<Owners, AwsError> {
        self.call(
            "DescribeNetworkInterfaces",
            region,
            &ids.join(","),
            || async {
                let request = self
                    .client(region)
                    .describe_network_interfaces()
                    .filters(filter("network-interface-id", ids.iter().cloned()));
                let mut found = BTreeMap::new();
                for page in request
                    .into_paginator()
                    .items()
                    .send()
                    .collect::<Vec<_>>()
                    .await
                {
                    let eni = page?;
                    found.insert(
                        eni.network_interface_id().unwrap_or_default().to_string(),
                        vec![eni.vpc_id().unwrap_or_default().to_string()],
                    );
                }
                Ok(found)
            },
        )
        .await
    }

    /// Returns the Transit Gateways among `ids` that exist in `region`.
    pub async fn existing_transit_gateways(
        &self,
        region: &str,
        ids: &[String],
    ) -> Result<Owners, AwsError> {
        self.call(
            "DescribeTransitGateways",
            region,
            &ids.join(","),
            || async {
                let request = self
                    .client(region)
                    .describe_transit_gateways()
                    .filters(filter("transit-gateway-id", ids.iter().cloned()));
                let mut found = BTreeMap::new();
                for page in request
                    .into_paginator()
                    .items()
                    .send()
                    .collect::<Vec<_>>()
                    .await
                {
                    let id = page?.transit_gateway_id().unwrap_or_default().to_string();
                    found.insert(id.clone(), vec![id]);
                }
                Ok(found)
            },
        )
        .await
    }

    /// Returns the TGW route tables among `ids` that exist in `region`, each
    /// with its Transit Gateway.
    pub async fn existing_tgw_route_tables(
        &self,
        region: &str,
        ids: &[String],
    ) -> Result<Owners, AwsError> {
        let operation = "DescribeTransitGatewayRouteTables";
        self.call(operation, region, &ids.join(","), || async {
            let request = self
                .client(region)
                .describe_transit_gateway_route_tables()
                .filters(filter(
                    "transit-gateway-route-table-id",
                    ids.iter().cloned(),
                ));
            let mut found = BTreeMap::new();
            for page in request
                .into_paginator()
                .items()
                .send()
                .collect::<Vec<_>>()
                .await
            {
                let table = page?;
                found.insert(
                    table
                        .transit_gateway_route_table_id()
                        .unwrap_or_default()
                        .to_string(),
                    vec![table.transit_gateway_id().unwrap_or_default().to_string()],
                );
            }
            Ok(found)
        })
        .await
    }

    /// Returns the TGW attachments among `ids` that exist in `region`, each
    /// with its Transit Gateway.
    pub async fn existing_tgw_attachments(
        &self,
        region: &str,
        ids: &[String],
    ) -> Result<Owners, AwsError> {
        let operation = "DescribeTransitGatewayAttachments";
        self.call(operation, region, &ids.join(","), || async {
            let request = self
                .client(region)
                .describe_transit_gateway_attachments()
                .filters(filter("transit-gateway-attachment-id", ids.iter().cloned()));
            let mut found = BTreeMap::new();
            for page in request
                .into_paginator()
                .items()
                .send()
                .collect::<Vec<_>>()
                .await
            {
                let attachment = page?;
                found.insert(
                    attachment
                        .transit_gateway_attachment_id()
                        .unwrap_or_default()
                        .to_string(),
                    vec![
                        attachment
                            .transit_gateway_id()
                            .unwrap_or_default()
                            .to_string(),
                        attachment.resource_id().unwrap_or_default().to_string(),
                    ],
                );
            }
            Ok(found)
        })
        .await
    }

    /// Returns the VPC route tables among `ids` that exist in `region`, each
    /// with its VPC.
    pub async fn existing_route_tables(
        &self,
        region: &str,
        ids: &[String],
    ) -> Result<Owners, AwsError> {
        self.call("DescribeRouteTables", region, &ids.join(","), || async {
            let request = self
                .client(region)
                .describe_route_tables()
                .filters(filter("route-table-id", ids.iter().cloned()));
            let mut found = BTreeMap::new();
            for page in request
                .into_paginator()
                .items()
                .send()
                .collect::<Vec<_>>()
                .await
            {
                let table = page?;
                found.insert(
                    table.route_table_id().unwrap_or_default().to_string(),
                    vec![table.vpc_id().unwrap_or_default().to_string()],
                );
            }
            Ok(found)
        })
        .await
    }

    /// Asks AWS with DryRun whether a VPC route write would be authorized.
    /// Nothing is changed, and AWS returns DryRunOperation when it would be.
    pub async fn probe_vpc_write(
        &self,
        region: &str,
        table: &str,
        destination: &str,
        gateway: &str,
        write: Write,
    ) -> Result<Permission, AwsError> {
        let v6 = destination.contains(':');
        let result = match write {
            Write::Replace => {
                self.call("ReplaceRoute", region, table, || async {
                    let request = self.client(region).replace_route().dry_run(true);
                    let request = request.route_table_id(table).transit_gateway_id(gateway);
                    let request = if v6 {
                        request.destination_ipv6_cidr_block(destination)
                    } else {
                        request.destination_cidr_block(destination)
                    };
                    request.send().await.map(|_| ())
                })
                .await
            }
            Write::Create => {
                self.call("CreateRoute", region, table, || async {
                    let request = self.client(region).create_route().dry_run(true);
                    let request = request.route_table_id(table).transit_gateway_id(gateway);
                    let request = if v6 {
                        request.destination_ipv6_cidr_block(destination)
                    } else {
                        request.destination_cidr_block(destination)
                    };
                    request.send().await.map(|_| ())
                })
                .await
            }
        };
        permission_of(result)
    }

    /// Asks AWS with DryRun whether a TGW route write would be authorized.
    pub async fn probe_tgw_write(
        &self,
        region: &str,
        table: &str,
        destination: &str,
        attachment: &str,
        write: Write,
    ) -> Result<Permission, AwsError> {
        let result = match write {
            Write::Replace => {
                self.call("ReplaceTransitGatewayRoute", region, table, || async {
                    self.client(region)
                        .replace_transit_gateway_route()
                        .dry_run(true)
                        .transit_gateway_route_table_id(table)
                        .destination_cidr_block(destination)
                        .transit_gateway_attachment_id(attachment)
                        .send()
                        .await
                        .map(|_| ())
                })
                .await
            }
            Write::Create => {
                self.call("CreateTransitGatewayRoute", region, table, || async {
                    self.client(region)
                        .create_transit_gateway_route()
                        .dry_run(true)
                        .transit_gateway_route_table_id(table)
                        .destination_cidr_block(destination)
                        .transit_gateway_attachment_id(attachment)
                        .send()
                        .await
                        .map(|_| ())
                })
                .await
            }
        };
        permission_of(result)
    }

    /// Runs one AWS call with the concurrency limit, retries and deadline.
    async fn call<T, E, F, Fut>(
        &self,
        operation: &str,
        region: &str,
        resource: &str,
        mut attempt: F,
    ) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<
            Output = Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>,
        >,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let deadline_error = || AwsError {
            operation: operation.to_string(),
            region: region.to_string(),
            resource: resource.to_string(),
            code: "DeadlineExceeded".to_string(),
            message: if self.best_effort {
                crate::messages::best_effort_deadline_passed()
            } else {
                crate::messages::deadline_passed()
            },
            kind: ErrorKind::Deadline,
        };
        let Ok(_permit) = tokio::time::timeout_at(self.deadline, self.limit.acquire()).await else {
            return Err(deadline_error());
        };

        let mut tries = 0;
        loop {
            tries += 1;
            debug!(operation = %operation, region = %region, resource = %resource, attempt = tries, "calling AWS");
            let result = tokio::time::timeout_at(self.deadline, attempt()).await;
            let error = match result {
                Err(_) => return Err(deadline_error()),
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(err)) => classify(operation, region, resource, &err),
            };
            if !error.kind.is_retryable() || tries >= self.max_attempts {
                return Err(error);
            }

            let wait = backoff(tries);
            if Instant::now() + wait >= self.deadline {
                return Err(error);
            }
            warn!(
                operation = %operation,
                region = %region,
                resource = %resource,
                code = %error.code,
                attempt = tries,
                wait_ms = wait.as_millis() as u64,
                "retrying AWS call"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

/// The result of a DryRun write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    Allowed,
    Denied,
}

/// Maps a DryRun result: DryRunOperation means the caller has the
/// permission, UnauthorizedOperation means it does not. A call that
/// succeeds outright (a service ignoring DryRun) also proves the permission.
// The async calls in this module return the same unboxed AwsError.
#[allow(clippy::result_large_err)]
fn permission_of(result: Result<(), AwsError>) -> Result<Permission, AwsError> {
    match result {
        Ok(()) => Ok(Permission::Allowed),
        Err(err) if err.code == "DryRunOperation" => Ok(Permission::Allowed),
        Err(err) if err.kind == ErrorKind::Unauthorized => Ok(Permission::Denied),
        Err(err) => Err(err),
    }
}

/// Full-jitter exponential backoff: a random wait up to the capped doubling.
fn backoff(tries: u32) -> Duration {
    let ceiling = RETRY_BASE
        .saturating_mul(1 << tries.saturating_sub(1).min(10))
        .min(RETRY_CAP);
    let millis = ceiling.as_millis() as u64;
    Duration::from_millis(fastrand::u64(millis / 4..=millis))
}

fn filter(name: &str, values: impl IntoIterator<Item = String>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().collect()))
        .build()
}

fn read_vpc_table(
    table: &aws_sdk_ec2::types::RouteTable,
    destinations: &[String],
) -> (String, String, ObservedTable) {
    let mut observed = ObservedTable::default();
    for route in table.routes() {
        let destination = route
            .destination_cidr_block()
            .or(route.destination_ipv6_cidr_block())
            .unwrap_or_default();
        if !destinations.iter().any(|d| d == destination) {
            continue;
        }
        let target = if let Some(eni) = route.network_interface_id() {
            Target::Eni(eni.to_string())
        } else if let Some(tgw) = route.transit_gateway_id() {
            Target::TransitGateway(tgw.to_string())
        } else {
            let other = route
                .gateway_id()
                .or(route.instance_id())
                .or(route.nat_gateway_id())
                .or(route.vpc_peering_connection_id())
                .unwrap_or("unknown");
            Target::Other(other.to_string())
        };
        let state = RouteState::parse(route.state().map(|s| s.as_str()).unwrap_or("active"));
        observed
            .routes
            .insert(destination.to_string(), ObservedRoute { target, state });
    }
    (
        table.vpc_id().unwrap_or_default().to_string(),
        table.route_table_id().unwrap_or_default().to_string(),
        observed,
    )
}

async fn load_sdk_config(settings: &AwsSettings, home_region: &str) -> aws_types::SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(settings.connect_timeout)
        .read_timeout(settings.call_timeout)
        .operation_attempt_timeout(settings.call_timeout)
        .build();
    // The region here only serves credential providers such as STS; every
    // EC2 client gets its gateway's region. AWS_REGION and the profile win,
    // and the active server's region is the fallback, so that no instance
    // metadata lookup is needed just to learn a region.
    let region = RegionProviderChain::first_try(
        aws_config::environment::region::EnvironmentVariableRegionProvider::new(),
    )
    .or_else(Region::new(home_region.to_string()));
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .timeout_config(timeouts)
        .retry_config(RetryConfig::disabled());
    // A profile named in the config wins over credentials in the
    // environment, as `--profile` does for the AWS CLI.
    if let Some(profile) = &settings.profile {
        let provider = aws_config::profile::ProfileFileCredentialsProvider::builder()
            .profile_name(profile)
            .build();
        loader = loader.profile_name(profile).credentials_provider(provider);
    }
    loader.load().await
}

/// Name of the pseudo-operation under which credential failures are
/// reported; `resource` then contains the profile name.
pub const RESOLVE_CREDENTIALS: &str = "ResolveCredentials";

async fn resolve_credentials(
    sdk: &aws_types::SdkConfig,
    profile: &str,
    region: &str,
    deadline: Instant,
) -> Result<(), AwsError> {
    use aws_credential_types::provider::ProvideCredentials;

    let error = |code: &str, message: String| AwsError {
        operation: RESOLVE_CREDENTIALS.to_string(),
        region: region.to_string(),
        resource: profile.to_string(),
        code: code.to_string(),
        message,
        kind: ErrorKind::Credentials,
    };
    let Some(provider) = sdk.credentials_provider() else {
        return Err(error("NoCredentialsProvider", String::new()));
    };
    match tokio::time::timeout_at(deadline, provider.provide_credentials()).await {
        Err(_) => Err(error(
            "DeadlineExceeded",
            crate::messages::deadline_passed(),
        )),
        Ok(Err(err)) => Err(error("CredentialsNotLoaded", root_cause(&err))),
        Ok(Ok(_)) => {
            debug!(provider = ?provider, "credentials resolved");
            Ok(())
        }
    }
}

/// Maps an SDK error to the AWS code and the kind that drives retries.
fn classify<E>(
    operation: &str,
    region: &str,
    resource: &str,
    err: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (code, message, kind) = match err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown").to_string();
            let message = service.err().message().unwrap_or_default().to_string();
            let status = service.raw().status().as_u16();
            let kind = kind_of_code(&code, &message, status);
            (code, message, kind)
        }
        SdkError::TimeoutError(_) => (
            "RequestTimeout".to_string(),
            root_cause(err),
            ErrorKind::Timeout,
        ),
        SdkError::DispatchFailure(failure) => {
            let kind = if failure.is_timeout() {
                ErrorKind::Timeout
            } else if failure.is_user() {
                ErrorKind::Credentials
            } else {
                ErrorKind::Connection
            };
            let code = match kind {
                ErrorKind::Timeout => "RequestTimeout",
                ErrorKind::Credentials => "CredentialsNotLoaded",
                _ => "ConnectionFailed",
            };
            (code.to_string(), root_cause(err), kind)
        }
        SdkError::ResponseError(_) => (
            "ResponseError".to_string(),
            root_cause(err),
            ErrorKind::Connection,
        ),
        _ => {
            let text = DisplayErrorContext(err).to_string();
            let kind = if text.contains("credentials") {
                ErrorKind::Credentials
            } else {
                ErrorKind::Client
            };
            ("RequestNotSent".to_string(), text, kind)
        }
    };
    AwsError {
        operation: operation.to_string(),
        region: region.to_string(),
        resource: resource.to_string(),
        code,
        message,
        kind,
    }
}

/// Returns the innermost error of a transport failure, such as "Connection
/// refused (os error 111)", because that is what an operator can act on. The
/// outer layers only repeat that the request could not be sent.
pub(crate) fn root_cause(err: &dyn std::error::Error) -> String {
    let mut current = err;
    while let Some(source) = current.source() {
        current = source;
    }
    let text = current.to_string();
    if text.is_empty() {
        DisplayErrorContext(err).to_string()
    } else {
        text
    }
}

fn kind_of_code(code: &str, message: &str, status: u16) -> ErrorKind {
    match code {
        "RequestLimitExceeded"
        | "Throttling"
        | "ThrottlingException"
        | "RequestThrottled"
        | "TooManyRequestsException" => ErrorKind::Throttled,
        "AuthFailure"
        | "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "RequestExpired"
        | "OptInRequired" => ErrorKind::Credentials,
        "UnauthorizedOperation" | "AccessDenied" | "AccessDeniedException" => {
            ErrorKind::Unauthorized
        }
        "RouteAlreadyExists" => ErrorKind::AlreadyExists,
        "InvalidRoute.NotFound" => ErrorKind::NotFound,
        // AWS returns this generic code for ReplaceRoute on a missing route.
        "InvalidParameterValue" if message.contains("no route") => ErrorKind::NotFound,
        _ if status >= 500 => ErrorKind::ServerError,
        "InternalError" | "ServiceUnavailable" | "Unavailable" | "InternalFailure" => {
            ErrorKind::ServerError
        }
        _ => ErrorKind::Client,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_vpc_route_counts_as_not_found() {
        let message = "There is no route defined for '172.16.0.1/32' in the route table.";
        assert_eq!(
            kind_of_code("InvalidParameterValue", message, 400),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind_of_code("InvalidRoute.NotFound", "", 400),
            ErrorKind::NotFound
        );
    }

    #[test]
    fn throttling_and_5xx_are_retryable() {
        assert!(kind_of_code("RequestLimitExceeded", "", 503).is_retryable());
        assert!(kind_of_code("Whatever", "", 502).is_retryable());
        assert!(!kind_of_code("UnauthorizedOperation", "", 403).is_retryable());
    }

    #[test]
    fn backoff_stays_under_cap() {
        for tries in 1..20 {
            assert!(backoff(tries) <= RETRY_CAP);
        }
    }
}
