//! Authorisation: who may do what to which client.
//!
//! Permissions are data, not code: Cedar policies (`policies/*.cedar`)
//! validated in strict mode against `policies/schema.cedarschema`. This
//! module only loads them and turns each request into Cedar entities.
//!
//! Decisions fail closed: any error (unknown area, request not matching the
//! schema, a policy that errors during evaluation) denies.
//!
//! The area hierarchy is database data, so it is not loaded with the
//! policies: callers keep an [`Areas`] value, rebuild it when areas are
//! edited, and pass it to [`PolicyEngine::is_allowed`]. Requests are authorised
//! through `crate::authz::Authz`, which holds both.

mod areas;
mod model;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicyId, PolicySet, Request,
    RestrictedExpression, Schema, ValidationMode, Validator,
};

pub use areas::{AreaNode, Areas};
pub use model::{Action, ClientFacts, Principal, Reach, Resource, Role};

/// File name of the schema inside a policy directory.
pub const SCHEMA_FILE: &str = "schema.cedarschema";

/// Name under which the embedded policy file is reported.
const EMBEDDED_POLICY_FILE: &str = "hoanhap.cedar";
const EMBEDDED_SCHEMA: &str = include_str!("../../policies/schema.cedarschema");
const EMBEDDED_POLICIES: &str = include_str!("../../policies/hoanhap.cedar");

/// Id of the single `Hoanhap::System` entity.
const SYSTEM_ID: &str = "system";

/// Everything that can go wrong loading policies or deciding.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A policy directory or file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The schema does not parse or is inconsistent.
    #[error("{file}: schema error: {message}")]
    Schema {
        /// Schema file name.
        file: String,
        /// Cedar's message.
        message: String,
    },
    /// A policy file does not parse, holds a template, or reuses a policy id.
    #[error("{file}: parse error: {message}")]
    Parse {
        /// Policy file name.
        file: String,
        /// Cedar's message(s).
        message: String,
    },
    /// A policy file fails strict validation against the schema.
    #[error("{file}: validation failed: {message}")]
    Validation {
        /// Policy file name.
        file: String,
        /// Cedar's message(s), naming the policy id.
        message: String,
    },
    /// The directory holds no `*.cedar` file, which would deny everything.
    #[error("no *.cedar policy file in {}", dir.display())]
    NoPolicies {
        /// The directory searched.
        dir: PathBuf,
    },
    /// The area hierarchy is inconsistent (duplicate, unknown parent, cycle).
    #[error("area hierarchy: {0}")]
    Areas(String),
    /// A request names an area missing from the hierarchy.
    #[error("unknown area {0:?}")]
    UnknownArea(String),
    /// A role or action name that does not exist.
    #[error("unknown {kind} {value:?}")]
    UnknownName {
        /// "role" or "action".
        kind: &'static str,
        /// The name given.
        value: String,
    },
    /// The request could not be built or does not match the schema (e.g. a
    /// client action on the system resource, client_create without area).
    #[error("authorisation request: {0}")]
    Request(String),
    /// A policy errored while evaluating; the request is denied.
    #[error("policy evaluation: {0}")]
    Evaluation(String),
}

/// The outcome of [`PolicyEngine::authorize`], for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the action is allowed.
    pub allowed: bool,
    /// Ids (`@id` annotations) of the policies that decided: the permits
    /// when allowed, the forbids when denied by one; empty for the default
    /// deny.
    pub policies: Vec<String>,
}

/// Cedar entity type names, parsed once at load.
#[derive(Debug)]
struct Types {
    area: EntityTypeName,
    user: EntityTypeName,
    client: EntityTypeName,
    system: EntityTypeName,
    action: EntityTypeName,
}

impl Types {
    fn new() -> Result<Self, PolicyError> {
        let parse = |name: &str| {
            EntityTypeName::from_str(name).map_err(|err| PolicyError::Schema {
                file: SCHEMA_FILE.to_owned(),
                message: format!("entity type {name}: {err}"),
            })
        };
        Ok(Types {
            area: parse("Hoanhap::Area")?,
            user: parse("Hoanhap::User")?,
            client: parse("Hoanhap::Client")?,
            system: parse("Hoanhap::System")?,
            action: parse("Hoanhap::Action")?,
        })
    }

    fn uid(ty: &EntityTypeName, id: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
    }
}

/// Validated policies plus the schema they were checked against.
#[derive(Debug)]
pub struct PolicyEngine {
    policies: PolicySet,
    schema: Schema,
    authorizer: Authorizer,
    types: Types,
}

impl PolicyEngine {
    /// Loads `schema.cedarschema` and every `*.cedar` in `dir` (not
    /// recursive, in name order, hidden files skipped) and validates the policies against the
    /// schema in strict mode; errors name the offending file.
    pub fn load(dir: &Path) -> Result<Self, PolicyError> {
        let read = |path: PathBuf| std::fs::read_to_string(&path).map_err(|source| PolicyError::Io { path, source });
        let schema = read(dir.join(SCHEMA_FILE))?;
        let entries = std::fs::read_dir(dir).map_err(|source| PolicyError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let mut files = BTreeMap::new();
        for entry in entries {
            let path = entry
                .map_err(|source| PolicyError::Io {
                    path: dir.to_owned(),
                    source,
                })?
                .path();
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            // Skip editor droppings such as `.#hoanhap.cedar`.
            if path.is_file() && !name.starts_with('.') && path.extension().is_some_and(|ext| ext == "cedar") {
                files.insert(name, read(path)?);
            }
        }
        if files.is_empty() {
            return Err(PolicyError::NoPolicies { dir: dir.to_owned() });
        }
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(name, text)| (name.as_str(), text.as_str()))
            .collect();
        Self::from_sources(&schema, &files)
    }

    /// The policies compiled into the binary (`policies/` at build time),
    /// used when no policy directory is configured.
    pub fn embedded() -> Result<Self, PolicyError> {
        Self::from_sources(EMBEDDED_SCHEMA, &[(EMBEDDED_POLICY_FILE, EMBEDDED_POLICIES)])
    }

    /// Builds an engine from a schema text and `(file name, policy text)`
    /// pairs; [`Self::load`] and [`Self::embedded`] both end here.
    pub fn from_sources(schema: &str, files: &[(&str, &str)]) -> Result<Self, PolicyError> {
        let schema_error = |message: String| PolicyError::Schema {
            file: SCHEMA_FILE.to_owned(),
            message,
        };
        let (schema, warnings) = Schema::from_cedarschema_str(schema).map_err(|err| schema_error(err.to_string()))?;
        for warning in warnings {
            tracing::warn!(file = SCHEMA_FILE, %warning, "cedar schema warning");
        }
        let validator = Validator::new(schema.clone());
        let mut policies = PolicySet::new();
        for (file, text) in files {
            let parsed = parse_file(file, text)?;
            let result = validator.validate(&parsed, ValidationMode::Strict);
            if !result.validation_passed() {
                let message = result
                    .validation_errors()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(PolicyError::Validation {
                    file: (*file).to_owned(),
                    message,
                });
            }
            for warning in result.validation_warnings() {
                tracing::warn!(file, %warning, "cedar policy warning");
            }
            for policy in parsed.policies() {
                policies.add(policy.clone()).map_err(|err| PolicyError::Parse {
                    file: (*file).to_owned(),
                    message: err.to_string(),
                })?;
            }
        }
        Ok(PolicyEngine {
            policies,
            schema,
            authorizer: Authorizer::new(),
            types: Types::new()?,
        })
    }

    /// True only when the policies allow `action`; any error denies (and is
    /// logged), so callers can use it directly as a guard.
    pub fn is_allowed(&self, areas: &Areas, principal: &Principal, action: Action, resource: &Resource) -> bool {
        match self.authorize(areas, principal, action, resource) {
            Ok(verdict) => verdict.allowed,
            Err(err) => {
                tracing::warn!(
                    user = %principal.user_id,
                    action = action.name(),
                    error = %err,
                    "authorisation error, denying"
                );
                false
            }
        }
    }

    /// Whether the policies let `principal` read a client's content: asked about a client
    /// of its own area that it is assigned to, the most it could ever see. (An account
    /// that is not active yet is asked about as if it were.)
    pub fn reads_client_content(&self, areas: &Areas, principal: &Principal) -> bool {
        let principal = Principal {
            active: true,
            ..principal.clone()
        };
        let own = Resource::Client(ClientFacts {
            client_id: "probe".to_owned(),
            area: principal.area.clone(),
            assigned_worker: Some(principal.user_id.clone()),
            volunteers: vec![principal.user_id.clone()],
            break_glass: Vec::new(),
            contact_consent: true,
        });
        self.is_allowed(areas, &principal, Action::ClientRead, &own)
    }

    /// The full decision with the deciding policy ids, for audit records.
    /// Errors instead of guessing when the request cannot be evaluated.
    pub fn authorize(
        &self,
        areas: &Areas,
        principal: &Principal,
        action: Action,
        resource: &Resource,
    ) -> Result<Verdict, PolicyError> {
        let types = &self.types;
        let principal_uid = Types::uid(&types.user, &principal.user_id);
        let action_uid = Types::uid(&types.action, action.name());

        // Area entities: every area mentioned, with all its ancestors so
        // that Cedar's `in` sees the whole chain.
        let mut area_nodes = HashMap::new();
        let mut add_chain = |code: &str| -> Result<(), PolicyError> {
            for node in areas.ancestors(code)? {
                area_nodes.insert(node.code.clone(), node);
            }
            Ok(())
        };
        add_chain(&principal.area)?;
        let mut context = Vec::new();
        let resource_uid = match resource {
            Resource::Client(client) => {
                add_chain(&client.area)?;
                Types::uid(&types.client, &client.client_id)
            }
            Resource::System { area } => {
                // Only some actions declare the context; adding the area to any
                // other action would fail schema checks of the request.
                if action.takes_area()
                    && let Some(area) = area
                {
                    add_chain(area)?;
                    context.push((
                        "area".to_owned(),
                        RestrictedExpression::new_entity_uid(Types::uid(&types.area, area)),
                    ));
                }
                Types::uid(&types.system, SYSTEM_ID)
            }
        };

        let mut entities = Vec::with_capacity(area_nodes.len() + 2);
        for node in area_nodes.values() {
            let parents = node
                .parent
                .iter()
                .chain(&node.successors)
                .map(|parent| Types::uid(&types.area, parent))
                .collect();
            entities.push(entity(
                Types::uid(&types.area, &node.code),
                [("kind", RestrictedExpression::new_string(node.kind.clone()))],
                parents,
            )?);
        }
        entities.push(entity(
            principal_uid.clone(),
            [
                (
                    "role",
                    RestrictedExpression::new_string(principal.role.as_str().to_owned()),
                ),
                (
                    "area",
                    RestrictedExpression::new_entity_uid(Types::uid(&types.area, &principal.area)),
                ),
                ("active", RestrictedExpression::new_bool(principal.active)),
            ],
            HashSet::new(),
        )?);
        match resource {
            Resource::Client(client) => entities.push(self.client_entity(client)?),
            Resource::System { .. } => entities.push(Entity::new_no_attrs(resource_uid.clone(), HashSet::new())),
        }
        let entities = Entities::from_entities(entities, Some(&self.schema))
            .map_err(|err| PolicyError::Request(err.to_string()))?;
        let context = Context::from_pairs(context).map_err(|err| PolicyError::Request(err.to_string()))?;
        let request = Request::new(principal_uid, action_uid, resource_uid, context, Some(&self.schema))
            .map_err(|err| PolicyError::Request(err.to_string()))?;

        let response = self.authorizer.is_authorized(&request, &self.policies, &entities);
        let diagnostics = response.diagnostics();
        let errors: Vec<String> = diagnostics.errors().map(ToString::to_string).collect();
        if !errors.is_empty() {
            // An erroring forbid is skipped by Cedar; fail closed instead.
            return Err(PolicyError::Evaluation(errors.join("; ")));
        }
        let mut policies: Vec<String> = diagnostics.reason().map(PolicyId::to_string).collect();
        policies.sort();
        Ok(Verdict {
            allowed: response.decision() == Decision::Allow,
            policies,
        })
    }

    /// The client entity; users it names need no entities of their own
    /// because the policies only compare them with the principal.
    fn client_entity(&self, client: &ClientFacts) -> Result<Entity, PolicyError> {
        let types = &self.types;
        let users = |ids: &[String]| {
            RestrictedExpression::new_set(
                ids.iter()
                    .map(|id| RestrictedExpression::new_entity_uid(Types::uid(&types.user, id))),
            )
        };
        let mut attrs = vec![
            (
                "area",
                RestrictedExpression::new_entity_uid(Types::uid(&types.area, &client.area)),
            ),
            ("volunteers", users(&client.volunteers)),
            ("break_glass", users(&client.break_glass)),
            (
                "contact_consent",
                RestrictedExpression::new_bool(client.contact_consent),
            ),
        ];
        if let Some(worker) = &client.assigned_worker {
            attrs.push((
                "assigned_worker",
                RestrictedExpression::new_entity_uid(Types::uid(&types.user, worker)),
            ));
        }
        entity(Types::uid(&types.client, &client.client_id), attrs, HashSet::new())
    }
}

/// Builds one entity from attribute pairs.
fn entity<'a>(
    uid: EntityUid,
    attrs: impl IntoIterator<Item = (&'a str, RestrictedExpression)>,
    parents: HashSet<EntityUid>,
) -> Result<Entity, PolicyError> {
    let attrs = attrs
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    Entity::new(uid, attrs, parents).map_err(|err| PolicyError::Request(err.to_string()))
}

/// Parses one policy file and renames each policy to its `@id` annotation
/// (so audit records name rules, not positions); policies without one keep
/// a `file#policyN` id. Templates are refused: nothing here links them.
fn parse_file(file: &str, text: &str) -> Result<PolicySet, PolicyError> {
    let parse_error = |message: String| PolicyError::Parse {
        file: file.to_owned(),
        message,
    };
    let parsed = PolicySet::from_str(text)
        .map_err(|errs| parse_error(errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")))?;
    if parsed.num_of_templates() > 0 {
        return Err(parse_error("policy templates are not supported".to_owned()));
    }
    let mut renamed = PolicySet::new();
    for policy in parsed.policies() {
        let id = policy
            .annotation("id")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{file}#{}", policy.id()));
        renamed
            .add(policy.new_id(PolicyId::new(id)))
            .map_err(|err| parse_error(err.to_string()))?;
    }
    Ok(renamed)
}
