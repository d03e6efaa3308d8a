//! Discovery of the local server's ENI through instance metadata (IMDSv2).
//!
//! Only `servers.<name>.eni: auto` in the config leads here, and only for the
//! local server. The SDK's IMDS client (aws-config 1.x) requests a session
//! token with a PUT, sends it with each GET, and fetches a new token when a
//! GET returns 401.

use std::time::Duration;

use aws_config::imds::client::error::ImdsError;
use aws_config::imds::Client;
use tokio::time::Instant;

use crate::aws::{AwsError, AwsSettings, ErrorKind};

/// Name under which metadata failures are reported as AWS errors.
pub const OPERATION: &str = "GetInstanceMetadata";
/// Variable that the AWS SDKs read for the metadata endpoint.
pub const ENDPOINT_VARIABLE: &str = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
/// Attempts per metadata request, the first included.
const ATTEMPTS: u32 = 2;
/// Session token lifetime requested with the PUT.
const TOKEN_TTL: Duration = Duration::from_secs(300);

/// A failed ENI discovery.
#[derive(Debug)]
pub enum DiscoveryError {
    /// The metadata service failed or timed out.
    Unavailable(Box<AwsError>),
    /// The service returned an empty or malformed value.
    InvalidAnswer { path: String, answer: String },
}

/// Picks the metadata endpoint: `aws.imdsEndpoint`, then the standard
/// variable. `None` leaves the SDK's default endpoint in place.
pub fn endpoint(settings: &AwsSettings) -> Option<String> {
    settings
        .imds_endpoint
        .clone()
        .or_else(|| std::env::var(ENDPOINT_VARIABLE).ok())
        .filter(|url| !url.trim().is_empty())
}

/// Reads the MAC address of the primary interface and then the id of the
/// ENI behind it, giving up at `deadline`.
pub async fn discover_eni(
    settings: &AwsSettings,
    deadline: Instant,
) -> Result<String, DiscoveryError> {
    let client = build_client(settings)?;
    let mac = fetch(&client, "/latest/meta-data/mac", deadline).await?;
    let path = format!("/latest/meta-data/network/interfaces/macs/{mac}/interface-id");
    let eni = fetch(&client, &path, deadline).await?;
    let well_formed = eni
        .strip_prefix("eni-")
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()));
    if !well_formed {
        return Err(DiscoveryError::InvalidAnswer { path, answer: eni });
    }
    Ok(eni)
}

fn build_client(settings: &AwsSettings) -> Result<Client, DiscoveryError> {
    let mut builder = Client::builder()
        .max_attempts(ATTEMPTS)
        .token_ttl(TOKEN_TTL)
        .connect_timeout(settings.connect_timeout)
        .read_timeout(settings.call_timeout)
        .operation_timeout(settings.call_timeout * ATTEMPTS);
    if let Some(url) = endpoint(settings) {
        builder = builder.endpoint(&url).map_err(|err| {
            DiscoveryError::Unavailable(Box::new(error(
                &url,
                "InvalidEndpoint",
                err.to_string(),
                ErrorKind::Client,
            )))
        })?;
    }
    Ok(builder.build())
}

async fn fetch(client: &Client, path: &str, deadline: Instant) -> Result<String, DiscoveryError> {
    let answer = match tokio::time::timeout_at(deadline, client.get(path)).await {
        Err(_) => {
            let message = crate::messages::deadline_passed();
            return Err(DiscoveryError::Unavailable(Box::new(error(
                path,
                "DeadlineExceeded",
                message,
                ErrorKind::Deadline,
            ))));
        }
        Ok(Err(err)) => return Err(DiscoveryError::Unavailable(Box::new(classify(path, &err)))),
        Ok(Ok(answer)) => answer,
    };
    let text = answer.as_ref().trim().to_string();
    if text.is_empty() || text.contains(char::is_whitespace) {
        return Err(DiscoveryError::InvalidAnswer {
            path: path.to_string(),
            answer: text,
        });
    }
    Ok(text)
}

fn classify(path: &str, err: &ImdsError) -> AwsError {
    let detail = aws_sdk_ec2::error::DisplayErrorContext(err).to_string();
    let (code, kind) = match err {
        ImdsError::ErrorResponse(response) => {
            let status = response.response().status().as_u16();
            (format!("HTTP{status}"), ErrorKind::Connection)
        }
        ImdsError::FailedToLoadToken(_) => ("TokenNotLoaded".to_string(), ErrorKind::Connection),
        ImdsError::IoError(_) if detail.contains("timeout") || detail.contains("timed out") => {
            ("RequestTimeout".to_string(), ErrorKind::Timeout)
        }
        _ => ("ConnectionFailed".to_string(), ErrorKind::Connection),
    };
    error(path, &code, crate::aws::root_cause(err), kind)
}

fn error(resource: &str, code: &str, message: String, kind: ErrorKind) -> AwsError {
    AwsError {
        operation: OPERATION.to_string(),
        region: String::new(),
        resource: resource.to_string(),
        code: code.to_string(),
        message,
        kind,
    }
}
