//! A validated policy document, compiled statement by statement.

use std::fmt;

use crate::condition::Condition;
use crate::context::Context;
use crate::error::PolicyKind;
use crate::eval::Request;
use crate::glob::{Arn, Glob};
use crate::principal::{Principal, PrincipalPattern};

/// A statement's effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The statement's `Action` (or, when `negated`, `NotAction`) patterns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Actions {
    pub negated: bool,
    /// Lower-cased, case-insensitive globs.
    pub patterns: Box<[Glob]>,
}

impl Actions {
    /// Does the element (Action or NotAction) admit `action`?
    pub fn admit(&self, action: &str) -> bool {
        self.patterns.iter().any(|g| g.matches(action)) != self.negated
    }
}

/// One statement of a policy, with its patterns and conditions compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub(crate) sid: Option<Box<str>>,
    pub(crate) effect: Effect,
    pub(crate) actions: Actions,
    /// `None` in trust policies, which have no `Resource`.
    pub(crate) resources: Option<Box<[Glob]>>,
    /// `Some` only in trust policies.
    pub(crate) principals: Option<Box<[PrincipalPattern]>>,
    pub(crate) conditions: Box<[Condition]>,
}

impl Statement {
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    pub fn effect(&self) -> Effect {
        self.effect
    }

    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    /// Does this statement match `request`? A straightforward check of every element, without
    /// the action index: the reference that [`crate::PolicySet`] must agree with.
    pub fn matches(&self, request: &Request) -> bool {
        self.actions.admit(request.action)
            && self.matches_besides_action(
                &Arn::new(request.resource),
                request.principal,
                request.context,
            )
    }

    /// Resource, principal and condition checks: what remains once the action index has
    /// established that the action matches.
    #[inline]
    pub(crate) fn matches_besides_action(
        &self,
        resource: &Arn,
        who: Option<&Principal>,
        context: &Context,
    ) -> bool {
        if let Some(resources) = &self.resources
            && !resources.iter().any(|g| g.matches_arn(resource))
        {
            return false;
        }
        if let Some(principals) = &self.principals {
            let Some(who) = who else { return false };
            if !principals.iter().any(|p| p.matches(who)) {
                return false;
            }
        }
        self.conditions.iter().all(|c| c.evaluate(context))
    }
}

/// A parsed and validated policy document. Build one with [`crate::parse`].
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub(crate) kind: PolicyKind,
    pub(crate) statements: Vec<Statement>,
}

impl Policy {
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }
}
