//! What a call needs from IAM: `aws.iam_actions` (its own action and every
//! action IAM documents it also needs, given what the request holds) and
//! `aws.resources` (its resources and theirs).
//!
//! Dependent actions are listed only where the request shows them: S3's
//! GetObject of an object stored with SSE-KMS also needs `kms:Decrypt`, and
//! so do UploadPart calls of a KMS-encrypted multipart upload and a copy of a
//! KMS-encrypted source, but nothing in those requests says so; a bucket
//! whose default encryption is SSE-KMS needs `kms:GenerateDataKey` for a
//! PutObject that sends no encryption header. The table below says what IAM
//! and the services' API references document; it is not every dependency
//! AWS has.

use super::arn::{self, Call};
use crate::aws::Protocol;

/// What a call needs: `aws.resource`, `aws.resources`, `aws.iam_actions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// The resource IAM evaluates the call's own action on.
    pub resource: Option<String>,
    /// Every resource the call names: its own first, then its dependent
    /// actions'. Absent when its own resource is, or when the request names
    /// a dependent action's resource in a form that cannot be read: a list
    /// without it would let a rule over all of them pass unseen.
    pub resources: Option<Vec<String>>,
    /// The call's IAM action first, then its dependent actions. Absent when
    /// the action is, or when a dependency of the action turns on a
    /// parameter and the request's members could not all be read (a body
    /// too large, compressed or not understood): then it is unknown.
    pub iam_actions: Option<Vec<String>>,
}

/// Whether a request's parameters hold every member it sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Members {
    /// Its body was read and understood, or it has none.
    Complete,
    /// Its body was not read, or not understood: members may be missing.
    Partial,
}

/// Whether the parameters of a request in `protocol` hold all its members:
/// `body` is what was read of its body, `form` whether that is a form. S3's
/// (REST-XML) members are its URI, query and headers: bodies are not read.
pub fn members(protocol: Protocol, method: &str, body: Option<&[u8]>, form: bool) -> Members {
    let bodiless = method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD");
    let blank = body.is_some_and(|b| b.iter().all(u8::is_ascii_whitespace));
    let json = || body.is_some_and(|b| serde_json::from_slice::<serde::de::IgnoredAny>(b).is_ok());
    let complete = match protocol {
        Protocol::RestXml => true,
        Protocol::Json | Protocol::RestJson => bodiless || blank || json(),
        Protocol::Query | Protocol::Ec2 => bodiless || blank || form,
        Protocol::Cbor => false,
    };
    if complete { Members::Complete } else { Members::Partial }
}

/// What `call`, whose IAM action is `iam_action`, needs; `members` says
/// whether its parameters are all it sends.
pub fn of(call: &Call<'_>, iam_action: Option<&str>, members: Members) -> Needs {
    let own = arn::resources(call);
    let known = members == Members::Complete && call.params.is_some();
    let mut actions = Vec::new();
    let mut resources = own.clone();
    let mut unknown = false;
    let mut unreadable = false;
    for dependency in DEPENDENCIES {
        if !iam_action.is_some_and(|action| dependency.applies_to(action)) {
            continue;
        }
        if !known && dependency.when.reads_params() {
            unknown = true;
        } else if dependency.when.holds(call) {
            actions.extend(dependency.needs.iter().map(|a| a.to_string()));
            match dependency.on.arns(call) {
                Ok(arns) => resources.extend(arns),
                Err(Unreadable) => unreadable = true,
            }
        }
    }
    let iam_actions = iam_action.filter(|_| !unknown).map(|action| {
        let mut all = vec![action.to_string()];
        all.extend(actions);
        arn::dedup(all)
    });
    Needs {
        resource: own.first().cloned(),
        resources: (!own.is_empty() && !unreadable).then(|| arn::dedup(resources)),
        iam_actions,
    }
}

/// An action IAM requires besides a call's own when the request holds something.
#[derive(Debug, Clone, Copy)]
struct Dependency {
    /// The call's IAM action (`lambda:CreateFunction`), or `prefix:*` for
    /// every action of a service.
    action: &'static str,
    /// What the request holds.
    when: When,
    /// The actions the call then needs too.
    needs: &'static [&'static str],
    /// Where those act, when the request names it.
    on: On,
}

/// A condition on the request.
#[derive(Debug, Clone, Copy)]
enum When {
    /// The parameter is given (a member, or flattened members under it).
    Param(&'static str),
    /// The header is sent.
    Header(&'static str),
    /// The header is sent with one of these values (ASCII case ignored).
    HeaderIs(&'static str, &'static [&'static str]),
    /// The header is sent and holds this text.
    HeaderHas(&'static str, &'static str),
    /// Both hold.
    Both(&'static When, &'static When),
}

/// The resource a dependent action acts on.
#[derive(Debug, Clone, Copy)]
enum On {
    /// The request does not say.
    Unnamed,
    /// The IAM role the parameter names (by name or ARN).
    Role(&'static str),
    /// The source object of S3's `x-amz-copy-source`.
    CopySource,
    /// The KMS key of S3's `x-amz-server-side-encryption-aws-kms-key-id`.
    SseKmsKey,
}

const COPY_SOURCE: &str = "x-amz-copy-source";
const SSE_KMS_KEY: &str = "x-amz-server-side-encryption-aws-kms-key-id";
const SSE_KMS: When = When::HeaderIs("x-amz-server-side-encryption", &["aws:kms", "aws:kms:dsse"]);
/// CreateMultipartUpload: `POST /key?uploads`.
const MULTIPART: When = When::Param("uploads");

/// `action` with the parameter `param` naming a role the service assumes:
/// `iam:PassRole` on that role.
const fn passes_role(action: &'static str, param: &'static str) -> Dependency {
    Dependency {
        action,
        when: When::Param(param),
        needs: &["iam:PassRole"],
        on: On::Role(param),
    }
}

/// `action` when `when` holds also needs `needs`, on a resource the request does not name.
const fn needs(action: &'static str, when: When, needs: &'static [&'static str]) -> Dependency {
    Dependency {
        action,
        when,
        needs,
        on: On::Unnamed,
    }
}

/// `action` with a `versionId` query parameter acts on a version, which IAM
/// authorizes with the action's `…Version…` twin.
const fn versioned(action: &'static str, version_action: &'static [&'static str]) -> Dependency {
    needs(action, When::Param("versionId"), version_action)
}

/// Every documented dependency; a new one is a line. Sources: IAM's Service
/// Authorization Reference ("Dependent actions"), the S3 API reference's
/// "Permissions" sections, EC2's "Grant permission to tag resources during
/// creation", and each service's page on passing it a role.
const DEPENDENCIES: &[Dependency] = &[
    // EC2: an instance profile passes its role; tags on create need CreateTags.
    needs("ec2:RunInstances", When::Param("IamInstanceProfile"), &["iam:PassRole"]),
    needs(
        "ec2:AssociateIamInstanceProfile",
        When::Param("IamInstanceProfile"),
        &["iam:PassRole"],
    ),
    needs(
        "ec2:ReplaceIamInstanceProfileAssociation",
        When::Param("IamInstanceProfile"),
        &["iam:PassRole"],
    ),
    needs("ec2:*", When::Param("TagSpecification"), &["ec2:CreateTags"]),
    // S3: CopyObject and UploadPartCopy (s3:PutObject in IAM) read their source.
    Dependency {
        action: "s3:PutObject",
        when: When::Header(COPY_SOURCE),
        needs: &["s3:GetObject"],
        on: On::CopySource,
    },
    needs(
        "s3:PutObject",
        When::HeaderHas(COPY_SOURCE, "?versionId="),
        &["s3:GetObjectVersion"],
    ),
    // S3: SSE-KMS needs a data key; a multipart upload's parts decrypt it too
    // (the parts' requests do not say they are encrypted, so the upload says it).
    Dependency {
        action: "s3:PutObject",
        when: SSE_KMS,
        needs: &["kms:GenerateDataKey"],
        on: On::SseKmsKey,
    },
    needs("s3:PutObject", When::Both(&SSE_KMS, &MULTIPART), &["kms:Decrypt"]),
    // S3: an upload that sets an ACL, tags, retention or a legal hold.
    needs("s3:PutObject", When::Header("x-amz-acl"), &["s3:PutObjectAcl"]),
    needs(
        "s3:PutObject",
        When::Header("x-amz-grant-full-control"),
        &["s3:PutObjectAcl"],
    ),
    needs("s3:PutObject", When::Header("x-amz-grant-read"), &["s3:PutObjectAcl"]),
    needs(
        "s3:PutObject",
        When::Header("x-amz-grant-read-acp"),
        &["s3:PutObjectAcl"],
    ),
    needs(
        "s3:PutObject",
        When::Header("x-amz-grant-write-acp"),
        &["s3:PutObjectAcl"],
    ),
    needs("s3:PutObject", When::Header("x-amz-tagging"), &["s3:PutObjectTagging"]),
    needs(
        "s3:PutObject",
        When::Header("x-amz-object-lock-mode"),
        &["s3:PutObjectRetention"],
    ),
    needs(
        "s3:PutObject",
        When::Header("x-amz-object-lock-retain-until-date"),
        &["s3:PutObjectRetention"],
    ),
    needs(
        "s3:PutObject",
        When::Header("x-amz-object-lock-legal-hold"),
        &["s3:PutObjectLegalHold"],
    ),
    // S3: calls on one version of an object.
    versioned("s3:GetObject", &["s3:GetObjectVersion"]),
    versioned("s3:DeleteObject", &["s3:DeleteObjectVersion"]),
    versioned("s3:GetObjectAcl", &["s3:GetObjectVersionAcl"]),
    versioned("s3:PutObjectAcl", &["s3:PutObjectVersionAcl"]),
    versioned("s3:GetObjectTagging", &["s3:GetObjectVersionTagging"]),
    versioned("s3:PutObjectTagging", &["s3:PutObjectVersionTagging"]),
    versioned("s3:DeleteObjectTagging", &["s3:DeleteObjectVersionTagging"]),
    // Services handed a role to assume.
    passes_role("lambda:CreateFunction", "Role"),
    passes_role("lambda:UpdateFunctionConfiguration", "Role"),
    passes_role("ecs:RegisterTaskDefinition", "taskRoleArn"),
    passes_role("ecs:RegisterTaskDefinition", "executionRoleArn"),
    passes_role("ecs:CreateService", "role"),
    passes_role("cloudformation:CreateStack", "RoleARN"),
    passes_role("cloudformation:UpdateStack", "RoleARN"),
    passes_role("cloudformation:CreateChangeSet", "RoleARN"),
    passes_role("glue:CreateJob", "Role"),
    passes_role("glue:CreateCrawler", "Role"),
    passes_role("glue:UpdateCrawler", "Role"),
    passes_role("glue:CreateDevEndpoint", "RoleArn"),
    passes_role("glue:CreateSession", "Role"),
    passes_role("sagemaker:CreateTrainingJob", "RoleArn"),
    passes_role("sagemaker:CreateProcessingJob", "RoleArn"),
    passes_role("sagemaker:CreateNotebookInstance", "RoleArn"),
    passes_role("sagemaker:CreateModel", "ExecutionRoleArn"),
    passes_role("states:CreateStateMachine", "roleArn"),
    passes_role("states:UpdateStateMachine", "roleArn"),
];

impl Dependency {
    /// Whether this dependency is about the IAM action `action`.
    fn applies_to(&self, action: &str) -> bool {
        match self.action.strip_suffix('*') {
            Some(prefix) => action.starts_with(prefix),
            None => self.action == action,
        }
    }
}

impl When {
    /// Whether this condition reads the parameters (else only headers).
    fn reads_params(&self) -> bool {
        match *self {
            When::Param(_) => true,
            When::Header(_) | When::HeaderIs(..) | When::HeaderHas(..) => false,
            When::Both(a, b) => a.reads_params() || b.reads_params(),
        }
    }

    fn holds(&self, call: &Call<'_>) -> bool {
        match *self {
            When::Param(name) => call.has_param(name),
            When::Header(name) => call.headers.contains_key(name),
            When::HeaderIs(name, values) => call
                .header_values(name)
                .iter()
                .flatten()
                .any(|v| values.iter().any(|w| v.trim().eq_ignore_ascii_case(w))),
            When::HeaderHas(name, text) => call.header_values(name).iter().flatten().any(|v| v.contains(text)),
            When::Both(a, b) => a.holds(call) && b.holds(call),
        }
    }
}

/// How a named resource becomes an ARN.
type BuildArn = fn(&Call<'_>, &str) -> Option<String>;

/// A resource the request names in a form that cannot be read (a copy
/// source without a key, a role that is not a string).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Unreadable;

impl On {
    /// The resources a dependent action acts on: none when the request does
    /// not name them (a bucket's default KMS key), every one it names.
    fn arns(&self, call: &Call<'_>) -> Result<Vec<String>, Unreadable> {
        let (values, arn): (Vec<Option<&str>>, BuildArn) = match *self {
            On::Unnamed => return Ok(Vec::new()),
            On::Role(param) => (vec![call.param(param)], |c, v| c.role_arn(v)),
            On::CopySource => (call.header_values(COPY_SOURCE), |c, v| c.copy_source_arn(v)),
            On::SseKmsKey => (call.header_values(SSE_KMS_KEY), |c, v| c.kms_key_arn(v)),
        };
        values
            .into_iter()
            .map(|value| value.and_then(|v| arn(call, v)).ok_or(Unreadable))
            .collect()
    }
}

#[cfg(test)]
mod tests;
