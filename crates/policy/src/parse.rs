//! Parsing and validating policy documents.
//!
//! The JSON is read into a positioned syntax tree (jsonc-parser in strict JSON mode), then
//! every element is checked against RAM's grammar. All problems found are reported, each with
//! the line and column of the offending JSON value; syntax errors stop at the first.

use std::collections::HashSet;

use jsonc_parser::ast::{Array, Object, ObjectProp, Value};
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions};

use crate::condition::{Condition, OperatorSpec, SetQualifier, ValueType};
use crate::error::{
    ErrorCode, PolicyError, PolicyErrors, PolicyKind, PolicyWarning, Position, WarningCode,
};
use crate::glob::{Case, Glob};
use crate::policy::{Actions, Effect, Policy, Statement};
use crate::principal::{PrincipalPattern, PrincipalType};

/// Document size limits in characters, per kind. Defaults follow RAM: 6,144 for custom
/// policies, 2,048 for session policies; trust policies get 4,096.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub identity_chars: usize,
    pub session_chars: usize,
    pub trust_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            identity_chars: 6144,
            session_chars: 2048,
            trust_chars: 4096,
        }
    }
}

impl Limits {
    pub fn max_chars(&self, kind: PolicyKind) -> usize {
        match kind {
            PolicyKind::Identity => self.identity_chars,
            PolicyKind::Session => self.session_chars,
            PolicyKind::Trust => self.trust_chars,
        }
    }
}

/// A valid policy and the warnings found while validating it.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub policy: Policy,
    pub warnings: Vec<PolicyWarning>,
}

/// Parses and validates `text` as a policy of `kind`.
pub fn parse(text: &str, kind: PolicyKind, limits: &Limits) -> Result<Parsed, PolicyErrors> {
    let mut p = Validator {
        text,
        kind,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let policy = p.document(limits);
    if let Some(errors) = PolicyErrors::new(p.errors) {
        return Err(errors);
    }
    let Some(policy) = policy else {
        // Every path that yields no policy records why; this is a guard, not a code path.
        return Err(PolicyErrors::single(PolicyError {
            code: ErrorCode::MalformedPolicyDocument,
            position: Position { line: 1, column: 1 },
            message: "invalid policy document".into(),
        }));
    };
    let mut warnings = p.warnings;
    warnings.sort_by_key(|w| w.position);
    Ok(Parsed { policy, warnings })
}

/// Guesses the kind of a document: a trust policy if any statement has a `Principal`.
/// Used by tools that validate files without being told what they are.
pub fn detect_kind(text: &str) -> PolicyKind {
    let Ok(Some(Value::Object(root))) = parse_json(text).map(|r| r.value) else {
        return PolicyKind::Identity;
    };
    let has_principal = |v: &Value| v.as_object().is_some_and(|o| o.get("Principal").is_some());
    let trust = match root.get("Statement").map(|p| &p.value) {
        Some(Value::Array(a)) => a.elements.iter().any(has_principal),
        Some(v) => has_principal(v),
        None => false,
    };
    if trust {
        PolicyKind::Trust
    } else {
        PolicyKind::Identity
    }
}

fn parse_json(
    text: &str,
) -> Result<jsonc_parser::ParseResult<'_>, jsonc_parser::errors::ParseError> {
    let strict = ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    jsonc_parser::parse_to_ast(text, &CollectOptions::default(), &strict)
}

const POLICY_ELEMENTS: &[&str] = &["Version", "Statement"];
const STATEMENT_ELEMENTS: &[&str] = &[
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "Principal",
    "Condition",
];
const MAX_ACTION_LEN: usize = 256;
const MAX_RESOURCE_LEN: usize = 2048;

/// Global condition keys Tessera sets or documents, with the type of their values.
const KNOWN_KEYS: &[(&str, ValueType)] = &[
    ("acs:currenttime", ValueType::Date),
    ("acs:securetransport", ValueType::Bool),
    ("acs:sourceip", ValueType::Ip),
    ("acs:mfapresent", ValueType::Bool),
    ("acs:sourcevpc", ValueType::String),
    ("acs:useragent", ValueType::String),
    ("acs:referer", ValueType::String),
    ("acs:service", ValueType::String),
    ("acs:principalarn", ValueType::String),
    ("acs:principalaccount", ValueType::String),
    ("acs:accessid", ValueType::String),
    ("acs:tokenissuetime", ValueType::Date),
    ("acs:tagkeys", ValueType::String),
    ("sts:externalid", ValueType::String),
    ("sts:sourceidentity", ValueType::String),
];
const KNOWN_KEY_PREFIXES: &[&str] = &["acs:resourcetag/", "acs:requesttag/"];

struct Validator<'t> {
    text: &'t str,
    kind: PolicyKind,
    errors: Vec<PolicyError>,
    warnings: Vec<PolicyWarning>,
}

/// A string value and where it starts.
type Located<'a> = (&'a str, usize);

impl<'t> Validator<'t> {
    fn error(&mut self, at: usize, message: impl Into<String>) {
        self.errors.push(PolicyError {
            code: ErrorCode::MalformedPolicyDocument,
            position: Position::at(self.text, at),
            message: message.into(),
        });
    }

    fn warn(&mut self, at: usize, code: WarningCode, message: impl Into<String>) {
        self.warnings.push(PolicyWarning {
            code,
            position: Position::at(self.text, at),
            message: message.into(),
        });
    }

    fn document(&mut self, limits: &Limits) -> Option<Policy> {
        let max = limits.max_chars(self.kind);
        if let Some((offset, _)) = self.text.char_indices().nth(max) {
            let total = self.text.chars().count();
            self.errors.push(PolicyError {
                code: ErrorCode::Length(self.kind),
                position: Position::at(self.text, offset),
                message: format!(
                    "the {} is {total} characters long; the limit is {max}",
                    self.kind.parameter()
                ),
            });
            return None;
        }
        if self.text.trim().is_empty() {
            self.error(0, "the policy document is empty");
            return None;
        }
        let root = match parse_json(self.text) {
            Ok(result) => result.value,
            Err(e) => {
                self.error(e.range().start, format!("invalid JSON: {}", e.kind()));
                return None;
            }
        };
        let Some(root) = root else {
            self.error(0, "the policy document is empty");
            return None;
        };
        self.reject_duplicate_keys(&root);
        let Value::Object(root) = &root else {
            self.error(root.start(), "a policy document must be a JSON object");
            return None;
        };

        let mut version = None;
        let mut statements = None;
        for prop in &root.properties {
            match prop.name.as_str() {
                "Version" => version = Some(prop),
                "Statement" => statements = Some(prop),
                other => {
                    let message = self.unknown_element(other, POLICY_ELEMENTS, "the policy");
                    self.error(prop.start(), message);
                }
            }
        }
        match version {
            None => self.error(root.start(), "Version is required; use \"Version\": \"1\""),
            Some(prop) => match &prop.value {
                Value::StringLit(s) if s.value == "1" => {}
                other => self.error(
                    other.start(),
                    format!(
                        "Version must be the string \"1\", not {}",
                        self.snippet(other)
                    ),
                ),
            },
        }
        let Some(statements) = statements else {
            self.error(root.start(), "Statement is required");
            return None;
        };
        let list: Vec<&Value> = match &statements.value {
            Value::Array(a) => a.elements.iter().collect(),
            v @ Value::Object(_) => vec![v],
            other => {
                self.error(
                    other.start(),
                    "Statement must be a statement object or an array of them",
                );
                return None;
            }
        };
        if list.is_empty() {
            self.error(statements.value.start(), "Statement must not be empty");
        }
        let mut sids: HashSet<String> = HashSet::new();
        let mut compiled = Vec::with_capacity(list.len());
        for (index, value) in list.into_iter().enumerate() {
            let Value::Object(obj) = value else {
                self.error(
                    value.start(),
                    format!("statement {index} must be a JSON object"),
                );
                continue;
            };
            if let Some(statement) = self.statement(obj) {
                if let Some(sid) = statement.sid()
                    && !sids.insert(sid.to_owned())
                {
                    self.warn(
                        obj.start(),
                        WarningCode::DuplicateSid,
                        format!("Sid \"{sid}\" is used by more than one statement"),
                    );
                }
                compiled.push(statement);
            }
        }
        self.errors.is_empty().then_some(Policy {
            kind: self.kind,
            statements: compiled,
        })
    }

    fn unknown_element(&self, name: &str, known: &[&str], place: &str) -> String {
        if let Some(k) = known.iter().find(|k| k.eq_ignore_ascii_case(name)) {
            return format!(
                "unknown element \"{name}\" in {place}; element names are case-sensitive: did you mean \"{k}\"?"
            );
        }
        match name {
            "NotResource" => "NotResource is not supported in RAM policies; use a Deny statement with Resource instead".into(),
            "NotPrincipal" => "NotPrincipal is not supported in RAM policies".into(),
            "Id" => "Id is not a RAM policy element".into(),
            _ => format!(
                "unknown element \"{name}\" in {place}; expected one of {}",
                known.join(", ")
            ),
        }
    }

    /// A short one-line quote of `value` for messages (whitespace runs collapsed).
    fn snippet(&self, value: &Value) -> String {
        let text = value.text(self.text);
        let mut quoted = String::new();
        for word in text.split_whitespace() {
            if !quoted.is_empty() {
                quoted.push(' ');
            }
            quoted.push_str(word);
        }
        match quoted.char_indices().nth(40) {
            Some((cut, _)) => format!("{}…", &quoted[..cut]),
            None => quoted,
        }
    }

    fn reject_duplicate_keys(&mut self, value: &Value) {
        match value {
            Value::Object(obj) => {
                let mut seen = HashSet::new();
                for prop in &obj.properties {
                    let name = prop.name.as_str();
                    if !seen.insert(name) {
                        self.error(prop.start(), format!("duplicate key \"{name}\""));
                    }
                    self.reject_duplicate_keys(&prop.value);
                }
            }
            Value::Array(a) => a
                .elements
                .iter()
                .for_each(|v| self.reject_duplicate_keys(v)),
            _ => {}
        }
    }

    /// A string, or a non-empty array of strings, as every multi-valued element allows.
    fn strings<'a>(&mut self, prop: &'a ObjectProp, what: &str) -> Option<Vec<Located<'a>>> {
        let name = prop.name.as_str();
        match &prop.value {
            Value::StringLit(s) => Some(vec![(s.value.as_ref(), s.start())]),
            Value::Array(a) => {
                if a.elements.is_empty() {
                    self.error(a.start(), format!("{name} must not be an empty array"));
                    return None;
                }
                let mut out = Vec::with_capacity(a.elements.len());
                for v in &a.elements {
                    match v {
                        Value::StringLit(s) => out.push((s.value.as_ref(), s.start())),
                        other => self.error(
                            other.start(),
                            format!(
                                "each {what} in {name} must be a string, not {}",
                                self.snippet(other)
                            ),
                        ),
                    }
                }
                (out.len() == a.elements.len()).then_some(out)
            }
            other => {
                self.error(
                    other.start(),
                    format!(
                        "{name} must be a string or an array of strings, not {}",
                        self.snippet(other)
                    ),
                );
                None
            }
        }
    }

    fn statement(&mut self, obj: &Object) -> Option<Statement> {
        let errors_before = self.errors.len();
        let mut sid = None;
        let mut effect = None;
        let mut action: Option<&ObjectProp> = None;
        let mut not_action: Option<&ObjectProp> = None;
        let mut resource: Option<&ObjectProp> = None;
        let mut principal: Option<&ObjectProp> = None;
        let mut condition: Option<&ObjectProp> = None;
        for prop in &obj.properties {
            match prop.name.as_str() {
                "Sid" => match &prop.value {
                    Value::StringLit(s) => sid = Some(Box::<str>::from(s.value.as_ref())),
                    other => self.error(other.start(), "Sid must be a string"),
                },
                "Effect" => match &prop.value {
                    Value::StringLit(s) if s.value == "Allow" => effect = Some(Effect::Allow),
                    Value::StringLit(s) if s.value == "Deny" => effect = Some(Effect::Deny),
                    Value::StringLit(s) => {
                        let hint = if s.value.eq_ignore_ascii_case("allow")
                            || s.value.eq_ignore_ascii_case("deny")
                        {
                            " (Effect is case-sensitive)"
                        } else {
                            ""
                        };
                        self.error(
                            s.start(),
                            format!(
                                "Effect must be \"Allow\" or \"Deny\", not \"{}\"{hint}",
                                s.value
                            ),
                        );
                    }
                    other => self.error(
                        other.start(),
                        "Effect must be the string \"Allow\" or \"Deny\"",
                    ),
                },
                "Action" => action = Some(prop),
                "NotAction" => not_action = Some(prop),
                "Resource" => resource = Some(prop),
                "Principal" => principal = Some(prop),
                "Condition" => condition = Some(prop),
                other => {
                    let message = self.unknown_element(other, STATEMENT_ELEMENTS, "a statement");
                    self.error(prop.start(), message);
                }
            }
        }
        if effect.is_none() && !obj.properties.iter().any(|p| p.name.as_str() == "Effect") {
            self.error(obj.start(), "Effect is required in every statement");
        }

        let actions = match (action, not_action) {
            (Some(_), Some(n)) => {
                self.error(
                    n.start(),
                    "a statement may have Action or NotAction, not both",
                );
                None
            }
            (None, None) => {
                self.error(obj.start(), "every statement needs Action or NotAction");
                None
            }
            (Some(p), None) => self.actions(p, false),
            (None, Some(p)) => self.actions(p, true),
        };

        let resources = match (self.kind, resource) {
            (PolicyKind::Trust, Some(p)) => {
                self.error(
                    p.start(),
                    "a trust policy has no Resource: the resource is the role itself",
                );
                None
            }
            (PolicyKind::Trust, None) => None,
            (_, None) => {
                self.error(
                    obj.start(),
                    "every statement needs Resource (use \"*\" for all resources)",
                );
                None
            }
            (_, Some(p)) => self.resources(p).map(Some).unwrap_or(None),
        };

        let principals = match (self.kind, principal) {
            (PolicyKind::Trust, None) => {
                self.error(
                    obj.start(),
                    "every statement of a trust policy needs Principal",
                );
                None
            }
            (PolicyKind::Trust, Some(p)) => self.principal(p),
            (_, Some(p)) => {
                self.error(
                    p.start(),
                    "Principal is only allowed in trust policies (a role's AssumeRolePolicyDocument)",
                );
                None
            }
            (_, None) => None,
        };

        let conditions = match condition {
            Some(p) => self.conditions(p, effect),
            None => Some(Vec::new()),
        };

        if self.errors.len() != errors_before {
            return None;
        }
        let (effect, actions, conditions) = (effect?, actions?, conditions?);
        self.statement_warnings(
            obj,
            effect,
            &actions,
            resources.as_deref(),
            principals.as_deref(),
            &conditions,
        );
        Some(Statement {
            sid,
            effect,
            actions,
            resources,
            principals,
            conditions: conditions.into(),
        })
    }

    fn statement_warnings(
        &mut self,
        obj: &Object,
        effect: Effect,
        actions: &Actions,
        resources: Option<&[Glob]>,
        principals: Option<&[PrincipalPattern]>,
        conditions: &[Condition],
    ) {
        if effect != Effect::Allow {
            return;
        }
        let all_actions = !actions.negated && actions.patterns.iter().any(Glob::is_any);
        let all_resources = resources.is_some_and(|r| r.iter().any(Glob::is_any));
        if all_actions && all_resources && conditions.is_empty() {
            self.warn(
                obj.start(),
                WarningCode::OverlyPermissive,
                "this statement allows every action on every resource (full administrator access)",
            );
        }
        if actions.negated {
            self.warn(
                obj.start(),
                WarningCode::AllowWithNotAction,
                "Allow with NotAction grants every action not listed, including actions added later; prefer listing actions with Action",
            );
        }
        if principals.is_some_and(|p| p.iter().any(PrincipalPattern::is_open))
            && conditions.is_empty()
        {
            self.warn(
                obj.start(),
                WarningCode::OpenTrust,
                "any principal of any account may assume this role; name the trusted accounts or add a condition such as sts:ExternalId",
            );
        }
    }

    fn actions(&mut self, prop: &ObjectProp, negated: bool) -> Option<Actions> {
        let list = self.strings(prop, "action")?;
        let mut patterns = Vec::with_capacity(list.len());
        for (action, at) in list {
            match check_action(action) {
                Ok(()) => {
                    if self.kind == PolicyKind::Trust
                        && let Some((service, _)) = action.split_once(':')
                        && !service.contains(['*', '?'])
                        && !service.eq_ignore_ascii_case("sts")
                    {
                        self.warn(
                            at,
                            WarningCode::NonStsTrustAction,
                            format!("\"{action}\" is not an STS action; trust policies govern sts:AssumeRole"),
                        );
                    }
                    patterns.push(Glob::new(action, Case::Insensitive));
                }
                Err(message) => self.error(at, message),
            }
        }
        Some(Actions {
            negated,
            patterns: patterns.into(),
        })
    }

    fn resources(&mut self, prop: &ObjectProp) -> Option<Box<[Glob]>> {
        let list = self.strings(prop, "resource")?;
        let mut globs = Vec::with_capacity(list.len());
        for (resource, at) in list {
            if let Err(message) = check_resource(resource) {
                self.error(at, message);
                continue;
            }
            if resource != "*" && resource.split(':').count() < 5 && !resource.contains('*') {
                self.warn(
                    at,
                    WarningCode::UnmatchableResource,
                    format!("\"{resource}\" has fewer than five ARN fields (acs:<service>:<region>:<account>:<relative-id>) and can never match"),
                );
            }
            globs.push(Glob::resource(resource));
        }
        Some(globs.into())
    }

    fn principal(&mut self, prop: &ObjectProp) -> Option<Box<[PrincipalPattern]>> {
        let obj = match &prop.value {
            Value::StringLit(s) if s.value == "*" => {
                return Some(vec![PrincipalPattern::Anyone].into());
            }
            Value::Object(o) => o,
            other => {
                self.error(
                    other.start(),
                    "Principal must be \"*\" or an object with RAM, Service or Federated entries",
                );
                return None;
            }
        };
        if obj.properties.is_empty() {
            self.error(obj.start(), "Principal must name at least one principal");
            return None;
        }
        let mut patterns = Vec::new();
        for entry in &obj.properties {
            let name = entry.name.as_str();
            let Some((_, ty)) = PrincipalType::ALL.iter().find(|(n, _)| *n == name) else {
                let hint = PrincipalType::ALL
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(n, _)| {
                        format!("; principal types are case-sensitive: did you mean \"{n}\"?")
                    })
                    .unwrap_or_else(|| "; expected RAM, Service or Federated".into());
                self.error(
                    entry.start(),
                    format!("unknown principal type \"{name}\"{hint}"),
                );
                continue;
            };
            let Some(values) = self.strings(entry, "principal") else {
                continue;
            };
            for (value, at) in values {
                match PrincipalPattern::parse(*ty, value) {
                    Ok(p) => patterns.push(p),
                    Err(message) => self.error(at, message),
                }
            }
        }
        Some(patterns.into())
    }

    fn conditions(&mut self, prop: &ObjectProp, effect: Option<Effect>) -> Option<Vec<Condition>> {
        let Value::Object(block) = &prop.value else {
            self.error(
                prop.value.start(),
                "Condition must be an object of operators, e.g. {\"IpAddress\": {\"acs:SourceIp\": \"192.0.2.0/24\"}}",
            );
            return None;
        };
        let mut out = Vec::new();
        let mut null_false_keys: HashSet<String> = HashSet::new();
        let mut for_all: Vec<(String, usize)> = Vec::new();
        for op_prop in &block.properties {
            let spec = match OperatorSpec::parse(op_prop.name.as_str()) {
                Ok(spec) => spec,
                Err(message) => {
                    self.error(op_prop.start(), message);
                    continue;
                }
            };
            let Value::Object(keys) = &op_prop.value else {
                self.error(
                    op_prop.value.start(),
                    format!("the body of {spec} must be an object of condition keys and values"),
                );
                continue;
            };
            if keys.properties.is_empty() {
                self.error(
                    keys.start(),
                    format!("{spec} must list at least one condition key"),
                );
                continue;
            }
            for key_prop in &keys.properties {
                if let Some(c) = self.condition(spec, key_prop) {
                    if spec.operator == crate::condition::Operator::Null
                        && matches!(c.values, crate::condition::Values::Null(false))
                    {
                        null_false_keys.insert(c.key().to_owned());
                    }
                    if spec.qualifier == SetQualifier::ForAllValues && !spec.if_exists {
                        for_all.push((c.key().to_owned(), key_prop.start()));
                    }
                    out.push(c);
                }
            }
        }
        if effect == Some(Effect::Allow) {
            for (key, at) in for_all {
                if !null_false_keys.contains(&key) {
                    self.warn(
                        at,
                        WarningCode::ForAllValuesWithAllow,
                        format!("ForAllValues: is also true when \"{key}\" is absent from the request; add {{\"Null\": {{\"{key}\": \"false\"}}}} to require it"),
                    );
                }
            }
        }
        Some(out)
    }

    fn condition(&mut self, spec: OperatorSpec, key_prop: &ObjectProp) -> Option<Condition> {
        let key = key_prop.name.as_str();
        let key_at = key_prop.start();
        if let Err(message) = check_condition_key(key) {
            self.error(key_at, message);
            return None;
        }
        let raw = self.condition_values(&key_prop.value, key)?;
        let texts: Vec<&str> = raw.iter().map(|(s, _)| s.as_str()).collect();
        let condition = match Condition::build(spec, key, &texts) {
            Ok(c) => c,
            Err(message) => {
                // Point at the value that failed when we can tell which one it was.
                let at = raw
                    .iter()
                    .find(|(s, _)| message.contains(&format!("\"{s}\"")))
                    .map_or(key_prop.value.start(), |(_, at)| *at);
                self.error(at, format!("{spec} on \"{key}\": {message}"));
                return None;
            }
        };
        if spec.operator.value_type() == ValueType::Ip {
            for (text, at) in &raw {
                if crate::value::parse_net(text).is_some_and(|(_, host_bits)| host_bits) {
                    self.warn(
                        *at,
                        WarningCode::CidrHostBits,
                        format!(
                            "\"{text}\" has host bits set; it is treated as its network address"
                        ),
                    );
                }
            }
        }
        self.key_warnings(spec, key, key_at);
        Some(condition)
    }

    fn key_warnings(&mut self, spec: OperatorSpec, key: &str, at: usize) {
        let lower = key.to_ascii_lowercase();
        let known = KNOWN_KEYS.iter().find(|(k, _)| *k == lower);
        let global = lower.starts_with("acs:") || lower.starts_with("sts:");
        if known.is_none() && global && !KNOWN_KEY_PREFIXES.iter().any(|p| lower.starts_with(p)) {
            self.warn(
                at,
                WarningCode::UnknownConditionKey,
                format!(
                    "\"{key}\" is not a condition key Tessera sets, so requests never carry it"
                ),
            );
        }
        let key_type = known.map(|(_, t)| *t).or_else(|| {
            KNOWN_KEY_PREFIXES
                .iter()
                .any(|p| lower.starts_with(p))
                .then_some(ValueType::String)
        });
        let op_type = spec.operator.value_type();
        if let Some(key_type) = key_type
            && op_type != ValueType::Null
            && op_type != key_type
        {
            self.warn(
                at,
                WarningCode::OperatorKeyMismatch,
                format!(
                    "{} compares {} values but \"{key}\" holds {} values; use {}",
                    spec.operator,
                    type_name(op_type),
                    type_name(key_type),
                    suggested_operators(key_type)
                ),
            );
        }
    }

    /// The values of one condition key: a scalar or a non-empty array of scalars. Numbers and
    /// booleans are taken as their JSON text.
    fn condition_values(&mut self, value: &Value, key: &str) -> Option<Vec<(String, usize)>> {
        let scalar = |v: &Value| -> Option<String> {
            match v {
                Value::StringLit(s) => Some(s.value.to_string()),
                Value::NumberLit(n) => Some(n.value.to_string()),
                Value::BooleanLit(b) => Some(b.value.to_string()),
                _ => None,
            }
        };
        let elements: Vec<&Value> = match value {
            Value::Array(Array { elements, range }) => {
                if elements.is_empty() {
                    self.error(
                        range.start,
                        format!("condition key \"{key}\" has an empty list of values"),
                    );
                    return None;
                }
                elements.iter().collect()
            }
            v => vec![v],
        };
        let mut out = Vec::with_capacity(elements.len());
        for v in elements {
            match scalar(v) {
                Some(s) => out.push((s, v.start())),
                None => self.error(
                    v.start(),
                    format!(
                        "condition values of \"{key}\" must be strings, numbers or booleans, not {}",
                        self.snippet(v)
                    ),
                ),
            }
        }
        Some(out)
    }
}

fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::String => "string",
        ValueType::Numeric => "numeric",
        ValueType::Date => "date",
        ValueType::Bool => "boolean",
        ValueType::Ip => "IP address",
        ValueType::Null => "null-check",
    }
}

fn suggested_operators(t: ValueType) -> &'static str {
    match t {
        ValueType::String => "a String operator",
        ValueType::Numeric => "a Numeric operator",
        ValueType::Date => "a Date operator",
        ValueType::Bool => "Bool",
        ValueType::Ip => "IpAddress or NotIpAddress",
        ValueType::Null => "Null",
    }
}

fn is_action_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '*' | '?' | '-' | '_' | '.')
}

/// `*`, or `<service>:<action>` where both parts may hold wildcards.
fn check_action(action: &str) -> Result<(), String> {
    if action == "*" {
        return Ok(());
    }
    if action.len() > MAX_ACTION_LEN {
        return Err(format!("action is longer than {MAX_ACTION_LEN} characters"));
    }
    let Some((service, name)) = action.split_once(':') else {
        return Err(format!(
            "action \"{action}\" has no service code; actions look like \"<service>:<action>\", e.g. \"ecs:DescribeInstances\""
        ));
    };
    if service.is_empty() || name.is_empty() {
        return Err(format!(
            "action \"{action}\" must have a service code and an action name around the colon"
        ));
    }
    if let Some(bad) = action
        .chars()
        .filter(|&c| c != ':')
        .find(|&c| !is_action_char(c))
    {
        return Err(format!(
            "action \"{}\" contains the invalid character {bad:?}",
            action.escape_debug()
        ));
    }
    if name.contains(':') {
        return Err(format!("action \"{action}\" has more than one colon"));
    }
    Ok(())
}

fn check_resource(resource: &str) -> Result<(), String> {
    if resource.is_empty() {
        return Err("resource must not be empty".into());
    }
    if resource.len() > MAX_RESOURCE_LEN {
        return Err(format!(
            "resource is longer than {MAX_RESOURCE_LEN} characters"
        ));
    }
    if resource.chars().any(char::is_control) {
        return Err(format!(
            "resource \"{}\" contains a control character",
            resource.escape_debug()
        ));
    }
    if resource == "*" || resource.starts_with("acs:") {
        Ok(())
    } else {
        Err(format!(
            "resource \"{resource}\" must be \"*\" or an ARN like acs:<service>:<region>:<account-id>:<relative-id>"
        ))
    }
}

fn check_condition_key(key: &str) -> Result<(), String> {
    let valid_chars = key.chars().all(|c| !c.is_control() && !c.is_whitespace());
    match key.split_once(':') {
        Some((ns, name))
            if !ns.is_empty() && !name.is_empty() && valid_chars && key.len() <= 256 =>
        {
            Ok(())
        }
        _ => Err(format!(
            "\"{}\" is not a condition key; keys look like \"acs:SourceIp\" or \"<service>:<key>\"",
            key.escape_debug()
        )),
    }
}
