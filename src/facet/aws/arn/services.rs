//! One ARN builder per service, each from IAM's ARN formats for the
//! service's resource types (`tests/data/iam-resource-types.txt`).

use super::{Call, is_arn};
use crate::ids::AccountId;

/// The ARNs `call` names, by its service's builder; empty for a service
/// without one.
pub(super) fn build(call: &Call<'_>) -> Vec<String> {
    let build: fn(&Call<'_>) -> Vec<String> = match call.service.name.as_str() {
        "s3" => s3,
        "dynamodb" => dynamodb,
        "sqs" => sqs,
        "sns" => sns,
        "lambda" => lambda,
        "kms" => kms,
        "secretsmanager" => secrets_manager,
        "ssm" => ssm,
        "iam" => iam,
        "ec2" => ec2,
        "logs" => logs,
        _ => return Vec::new(),
    };
    build(call)
}

/// `${BucketName}` and `${BucketName}/${ObjectName}`.
fn s3(call: &Call<'_>) -> Vec<String> {
    let partition = call.partition();
    match (call.bucket, call.key) {
        (Some(bucket), Some(key)) => vec![format!("arn:{partition}:s3:::{bucket}/{key}")],
        (Some(bucket), None) => vec![format!("arn:{partition}:s3:::{bucket}")],
        _ => Vec::new(),
    }
}

/// `table/${TableName}`, `table/${TableName}/index/${IndexName}` when the
/// call names an index; every table of `RequestItems` (BatchGetItem,
/// BatchWriteItem) and of `TransactItems` (TransactGetItems, TransactWriteItems).
fn dynamodb(call: &Call<'_>) -> Vec<String> {
    let table = |name: &str| {
        if is_arn(name) {
            Some(name.to_string())
        } else {
            call.regional("dynamodb", &format!("table/{name}"))
        }
    };
    if let Some(name) = call.param("TableName") {
        let arn = table(name);
        return match call.param("IndexName") {
            Some(index) => arn.map(|t| format!("{t}/index/{index}")),
            None => arn,
        }
        .into_iter()
        .collect();
    }
    let Some(params) = call.params else {
        return Vec::new();
    };
    if let Some(items) = params.get("RequestItems").and_then(|v| v.as_object()) {
        return items.keys().filter_map(|name| table(name)).collect();
    }
    // Each of TransactItems holds one of Get, Put, Update, Delete, ConditionCheck.
    let transact = params.get("TransactItems").and_then(|v| v.as_array());
    transact
        .into_iter()
        .flatten()
        .filter_map(|item| item.as_object())
        .flat_map(|item| item.values())
        .filter_map(|op| op.get("TableName")?.as_str())
        .filter_map(table)
        .collect()
}

/// `${QueueName}`, from `QueueUrl` (`https://sqs.<region>.amazonaws.com/<account>/<name>`:
/// the account and name from its path, the region the request's), or
/// CreateQueue's and GetQueueUrl's `QueueName` (with `QueueOwnerAWSAccountId`).
fn sqs(call: &Call<'_>) -> Vec<String> {
    let queue = if let Some(url) = call.param("QueueUrl") {
        let path = url.split_once("://").map_or(url, |(_, rest)| rest);
        let mut segments = path.split('/').skip(1);
        match (segments.next(), segments.next(), segments.next()) {
            (Some(account), Some(name), None) if !name.is_empty() => AccountId::parse(account)
                .ok()
                .and_then(|account| call.in_account("sqs", name, account)),
            _ => None,
        }
    } else if let Some(name) = call.param("QueueName") {
        match call.param("QueueOwnerAWSAccountId").map(AccountId::parse) {
            Some(Ok(owner)) => call.in_account("sqs", name, owner),
            Some(Err(_)) => None,
            None => call.regional("sqs", name),
        }
    } else {
        None
    };
    queue.into_iter().collect()
}

/// `${TopicName}`: `TopicArn`, or CreateTopic's `Name`.
fn sns(call: &Call<'_>) -> Vec<String> {
    let topic = match (call.param("TopicArn"), call.operation) {
        (Some(arn), _) if is_arn(arn) => Some(arn.to_string()),
        (None, Some("CreateTopic")) => call.param("Name").and_then(|name| call.regional("sns", name)),
        _ => None,
    };
    topic.into_iter().collect()
}

/// `function:${FunctionName}`, with `:${Alias}` or `:${Version}` when the
/// call names a qualifier. `FunctionName` may be a name (`f`, `f:alias`), a
/// partial ARN (`<account>:function:f`) or a full ARN; `Qualifier` is
/// appended to one that carries none.
fn lambda(call: &Call<'_>) -> Vec<String> {
    let Some(name) = call.param("FunctionName") else {
        return Vec::new();
    };
    let parts: Vec<&str> = name.split(':').collect();
    let (arn, qualified) = match parts.as_slice() {
        ["arn", ..] if is_arn(name) => (Some(name.to_string()), parts.len() > 7),
        [account, "function", function, rest @ ..] => (
            AccountId::parse(account)
                .ok()
                .and_then(|account| call.in_account("lambda", &format!("function:{function}"), account))
                .map(|arn| rest.iter().fold(arn, |arn, q| format!("{arn}:{q}"))),
            !rest.is_empty(),
        ),
        _ => (call.regional("lambda", &format!("function:{name}")), parts.len() > 1),
    };
    let arn = match call.param_list("Qualifier").as_slice() {
        [] => arn,
        // A name that carries its own qualifier keeps it (Lambda refuses two that differ).
        [_] if qualified => arn,
        [qualifier] => arn.map(|arn| format!("{arn}:{qualifier}")),
        // The qualifier given twice: which one Lambda takes is not known.
        _ => None,
    };
    arn.into_iter().collect()
}

/// `key/${KeyId}` and `alias/${Alias}`: every key or alias the call names
/// (CreateAlias names the alias and its target key, IAM checks both).
fn kms(call: &Call<'_>) -> Vec<String> {
    ["KeyId", "AliasName", "TargetKeyId", "SourceKeyId", "DestinationKeyId"]
        .iter()
        .filter_map(|name| call.param(name))
        .filter_map(|key| call.kms_key_arn(key))
        .collect()
}

/// `secret:${SecretId}`: `SecretId` (a name or ARN), CreateSecret's `Name`,
/// BatchGetSecretValue's `SecretIdList`. From a name the ARN is partial: the
/// secret's ARN ends in `-` and six random characters the request does not know.
fn secrets_manager(call: &Call<'_>) -> Vec<String> {
    let secret = |id: &str| {
        if is_arn(id) {
            Some(id.to_string())
        } else {
            call.regional("secretsmanager", &format!("secret:{id}"))
        }
    };
    let mut ids = call.param_list("SecretId");
    if call.operation == Some("CreateSecret") {
        ids.extend(call.param("Name"));
    }
    ids.extend(call.param_list("SecretIdList"));
    ids.into_iter().filter_map(secret).collect()
}

/// SSM's parameter operations' `parameter/${ParameterNameWithoutLeadingSlash}`:
/// `Name` (`/a/b` → `parameter/a/b`, `a` → `parameter/a`; a `:version` or
/// `:label` selector dropped), `Names`, GetParametersByPath's `Path`.
fn ssm(call: &Call<'_>) -> Vec<String> {
    const PARAMETER_OPERATIONS: [&str; 9] = [
        "GetParameter",
        "GetParameters",
        "GetParametersByPath",
        "GetParameterHistory",
        "PutParameter",
        "DeleteParameter",
        "DeleteParameters",
        "LabelParameterVersion",
        "UnlabelParameterVersion",
    ];
    if !call.operation.is_some_and(|op| PARAMETER_OPERATIONS.contains(&op)) {
        return Vec::new();
    }
    let parameter = |name: &str| {
        if is_arn(name) {
            // `arn:…:parameter/a/b`, perhaps with a selector after the sixth colon.
            let arn: Vec<&str> = name.splitn(7, ':').take(6).collect();
            return Some(arn.join(":"));
        }
        let name = name.split(':').next().unwrap_or(name);
        let name = name.strip_prefix('/').unwrap_or(name);
        call.regional("ssm", &format!("parameter/{name}"))
    };
    let mut names = call.param_list("Name");
    names.extend(call.param_list("Names"));
    names.extend(call.param("Path"));
    names.into_iter().filter_map(parameter).collect()
}

/// IAM's `instance-profile/`, `group/`, `role/`, `user/` (with the call's
/// `Path`, when it gives one: the ARN of an entity named without its path
/// lacks it) and `policy/` (`PolicyArn`, CreatePolicy's `PolicyName`), the
/// one IAM evaluates first: AddRoleToInstanceProfile is on the instance
/// profile, AddUserToGroup on the group, AttachRolePolicy on the role.
/// IAM is global: no region.
fn iam(call: &Call<'_>) -> Vec<String> {
    let path = call.param("Path").unwrap_or("/");
    let mut named: Vec<(&str, &str)> = [
        ("InstanceProfileName", "instance-profile"),
        ("GroupName", "group"),
        ("RoleName", "role"),
        ("UserName", "user"),
    ]
    .into_iter()
    .filter_map(|(param, kind)| Some((kind, call.param(param)?)))
    .collect();
    if call.operation == Some("CreatePolicy") {
        named.extend(call.param("PolicyName").map(|name| ("policy", name)));
    }
    let mut arns: Vec<String> = named
        .into_iter()
        .filter_map(|(kind, name)| call.global("iam", &format!("{kind}{path}{name}")))
        .collect();
    arns.extend(call.param("PolicyArn").filter(|arn| is_arn(arn)).map(str::to_string));
    arns
}

/// `instance/${InstanceId}`: `InstanceId` and its flattened list `InstanceId.N`.
fn ec2(call: &Call<'_>) -> Vec<String> {
    call.param_list("InstanceId")
        .into_iter()
        .filter(|id| id.starts_with("i-"))
        .filter_map(|id| call.regional("ec2", &format!("instance/{id}")))
        .collect()
}

/// `log-group:${LogGroupName}` (`logGroupName` or `logGroupIdentifier`, a name
/// or ARN), `…:log-stream:${LogStreamName}` when the call names a stream;
/// every group of `logGroupNames` and `logGroupIdentifiers` (StartQuery).
fn logs(call: &Call<'_>) -> Vec<String> {
    let group = |name: &str| {
        if is_arn(name) {
            // Log groups' ARNs as DescribeLogGroups lists them end in `:*`.
            Some(name.strip_suffix(":*").unwrap_or(name).to_string())
        } else {
            call.regional("logs", &format!("log-group:{name}"))
        }
    };
    let single = call.param("logGroupIdentifier").or_else(|| call.param("logGroupName"));
    if let Some(arn) = single.and_then(group) {
        let arn = match call.param("logStreamName") {
            Some(stream) => format!("{arn}:log-stream:{stream}"),
            None => arn,
        };
        return vec![arn];
    }
    let mut names = call.param_list("logGroupIdentifiers");
    names.extend(call.param_list("logGroupNames"));
    names.into_iter().filter_map(group).collect()
}
