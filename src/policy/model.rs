//! The facts an authorisation request is made of: who asks ([`Principal`]),
//! what they want to do ([`Action`]) and on what ([`Resource`]).
//!
//! These are plain data so that handlers can build them from database rows
//! without knowing Cedar; `super::PolicyEngine` turns them into entities.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Areas, PolicyError};

/// A user's role. The Cedar policies compare `principal.role` with
/// [`Role::as_str`], so the strings are part of the policy contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages accounts, areas, providers and settings; never client content.
    Admin,
    /// Runs a district: everything a social worker may, for the whole area.
    Supervisor,
    /// Works the clients assigned to them.
    SocialWorker,
    /// Supports the clients assigned to them; contact data only with consent.
    Volunteer,
    /// Sees and publishes anonymised statistics only.
    Manager,
    /// Reads and verifies the audit trail only.
    Auditor,
}

impl Role {
    /// Every role, for exhaustive tests and admin forms.
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Supervisor,
        Role::SocialWorker,
        Role::Volunteer,
        Role::Manager,
        Role::Auditor,
    ];

    /// The name stored in the database and seen by the policies.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::SocialWorker => "social_worker",
            Role::Volunteer => "volunteer",
            Role::Manager => "manager",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| PolicyError::UnknownName {
                kind: "role",
                value: s.to_owned(),
            })
    }
}

/// Declares [`Action`] once so that the variant, its Cedar name and the kind
/// of resource it applies to cannot drift apart.
macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident => $name:literal, $on:ident;)*) => {
        /// An action a user may attempt. [`Action::name`] is the Cedar action
        /// id (`Hoanhap::Action::"<name>"`) and the name written to the audit
        /// log; every variant must be declared in `schema.cedarschema` (a unit
        /// test checks this in both directions).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Action {
            $($(#[$doc])* $variant,)*
        }

        impl Action {
            /// Every action, in declaration order.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The Cedar action id, also used in audit records.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            /// True when the action applies to one client ([`Resource::Client`]);
            /// false when it applies to [`Resource::System`].
            pub fn on_client(&self) -> bool {
                match self {
                    $(Action::$variant => actions!(@on $on),)*
                }
            }
        }
    };
    (@on client) => { true };
    (@on system) => { false };
}

actions! {
    /// See the client's code (and status) in lists.
    ClientListCodes => "client_list_codes", client;
    /// Read coded fields and the chosen name.
    ClientRead => "client_read", client;
    /// Read legal name, date of birth, ID number.
    ClientReadIdentity => "client_read_identity", client;
    /// Read phone and address.
    ClientReadContact => "client_read_contact", client;
    /// Read health data.
    ClientReadHealth => "client_read_health", client;
    /// Read case notes and need details.
    ClientReadNarrative => "client_read_narrative", client;
    /// Edit client fields and write notes.
    ClientUpdate => "client_update", client;
    /// Record or withdraw consent.
    ConsentRecord => "consent_record", client;
    /// Record an assessed need.
    NeedRecord => "need_record", client;
    /// Refer the client to a service provider.
    ReferralCreate => "referral_create", client;
    /// See the client's referrals.
    ReferralRead => "referral_read", client;
    /// Move a referral through its states.
    ReferralTransition => "referral_transition", client;
    /// Read logged support contacts.
    SupportRead => "support_read", client;
    /// Flag a need for follow-up.
    FollowupFlag => "followup_flag", client;
    /// Ask for closure (a supervisor approves with [`Action::ClientClose`]).
    ClientCloseRequest => "client_close_request", client;
    /// Reopen a closed case.
    ClientReopen => "client_reopen", client;
    /// Ask for erasure (a supervisor approves with [`Action::ClientErase`]).
    ClientEraseRequest => "client_erase_request", client;
    /// A volunteer logs a support contact.
    SupportLog => "support_log", client;
    /// Request break-glass access to a client outside one's scope.
    BreakGlass => "break_glass", client;
    /// Ask for a transfer to another area (the assigned worker or a supervisor of the
    /// area; never through break-glass).
    TransferRequest => "transfer_request", client;
    /// Override recorded consent, with a reason (supervisor).
    ConsentOverride => "consent_override", client;
    /// Assign or unassign volunteers (supervisor).
    VolunteerAssign => "volunteer_assign", client;
    /// Approve closure (supervisor).
    ClientClose => "client_close", client;
    /// Move the case to another worker (supervisor).
    ClientReassign => "client_reassign", client;
    /// Approve erasure (supervisor).
    ClientErase => "client_erase", client;
    /// Move a client of a retired unit to a unit that succeeded it (supervisor).
    ClientMove => "client_move", client;
    /// Acknowledge an alert about the client (supervisor).
    AlertAcknowledge => "alert_acknowledge", client;
    /// Open a new case; needs [`Resource::in_area`].
    ClientCreate => "client_create", system;
    /// Accept or decline a transfer into an area; needs [`Resource::in_area`].
    TransferDecide => "transfer_decide", system;
    /// The list of transfers into and out of one's area.
    TransfersRead => "transfers_read", system;
    /// The list of flagged follow-ups.
    FollowupsRead => "followups_read", system;
    /// Manage user accounts.
    UsersManage => "users_manage", system;
    /// Manage the area hierarchy.
    AreasManage => "areas_manage", system;
    /// Manage service settings.
    SettingsManage => "settings_manage", system;
    /// Manage the service-provider directory; needs [`Resource::in_area`] with the
    /// provider's area.
    ProvidersManage => "providers_manage", system;
    /// Read the service-provider directory.
    ProvidersRead => "providers_read", system;
    /// View and download published anonymised statistics.
    StatsView => "stats_view", system;
    /// Publish a statistics release (province scope only).
    StatsPublish => "stats_publish", system;
    /// Read and verify the audit trail.
    AuditRead => "audit_read", system;
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Action {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .iter()
            .copied()
            .find(|action| action.name() == s)
            .ok_or_else(|| PolicyError::UnknownName {
                kind: "action",
                value: s.to_owned(),
            })
    }
}

/// The user asking. Built from the session's account row on every request,
/// so a deactivation takes effect at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The account id.
    pub user_id: String,
    /// The account's role.
    pub role: Role,
    /// The area code of the user's scope (a province covers its districts).
    pub area: String,
    /// False for deactivated accounts, which are refused everything.
    pub active: bool,
}

/// The clients a principal's lists start from, filtered in SQL before the policies
/// decide row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Every client of these areas: a supervisor's area and all below it.
    Areas(Vec<String>),
    /// The clients assigned to her: a social worker.
    Assigned,
    /// The clients she supports: a volunteer.
    Supported,
    /// No caseload: managers, auditors and admins.
    Nobody,
}

/// What a role is for, where a list, a form or a page is shaped by it. The permissions
/// themselves are the policies'; these are the only role comparisons in the code.
impl Principal {
    /// Where this principal's lists of clients start.
    pub fn reach(&self, areas: &Areas) -> Reach {
        match self.role {
            Role::Supervisor => Reach::Areas(areas.within(&self.area)),
            Role::SocialWorker => Reach::Assigned,
            Role::Volunteer => Reach::Supported,
            Role::Manager | Role::Auditor | Role::Admin => Reach::Nobody,
        }
    }

    /// An active social worker whose area covers `area`: someone a case there can be
    /// given to.
    pub fn takes_cases_in(&self, areas: &Areas, area: &str) -> bool {
        self.active && self.role == Role::SocialWorker && areas.covers(&self.area, area)
    }

    /// An active volunteer whose area covers `area`: someone who can be assigned to
    /// support a client there.
    pub fn supports_in(&self, areas: &Areas, area: &str) -> bool {
        self.active && self.role == Role::Volunteer && areas.covers(&self.area, area)
    }

    /// Holds cases: a social worker or a supervisor.
    pub fn works_cases(&self) -> bool {
        matches!(self.role, Role::SocialWorker | Role::Supervisor)
    }

    pub fn is_social_worker(&self) -> bool {
        self.role == Role::SocialWorker
    }

    /// Supervises an area: assigns cases to its workers, decides its transfers.
    pub fn is_supervisor(&self) -> bool {
        self.role == Role::Supervisor
    }

    /// Sees a client as a volunteer does: contact details and her own support logs,
    /// never the case.
    pub fn is_volunteer(&self) -> bool {
        self.role == Role::Volunteer
    }

    /// Reads the whole audit trail and every break-glass grant.
    pub fn is_auditor(&self) -> bool {
        self.role == Role::Auditor
    }

    /// An active admin: the service must always keep one.
    pub fn is_active_admin(&self) -> bool {
        self.active && self.role == Role::Admin
    }
}

/// What the action is done on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Resource {
    /// The service as a whole, for actions that are not about one client. `area` is
    /// the area the action is about, required by the actions that declare it
    /// ([`Action::takes_area`]) and ignored by the others.
    System {
        /// Area code: of the case being opened, the transfer's receiving area, the
        /// provider's area.
        area: Option<String>,
    },
    /// One client record.
    Client(ClientFacts),
}

impl Resource {
    /// The system resource without an area, for the system actions that do not take one.
    pub fn system() -> Self {
        Resource::System { area: None }
    }

    /// The system resource about `area` (opening a case there, deciding a transfer into
    /// it, managing its providers).
    pub fn in_area(area: impl Into<String>) -> Self {
        Resource::System {
            area: Some(area.into()),
        }
    }
}

impl Action {
    /// The system actions whose policies read `context.area`.
    pub fn takes_area(&self) -> bool {
        matches!(
            self,
            Action::ClientCreate | Action::TransferDecide | Action::ProvidersManage
        )
    }
}

/// The facts about one client that decide access; read them from the case
/// row, its volunteer assignments and its active break-glass grants.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClientFacts {
    /// The client id.
    pub client_id: String,
    /// Area code the case belongs to.
    pub area: String,
    /// User id of the assigned social worker, if any.
    pub assigned_worker: Option<String>,
    /// User ids of the volunteers assigned to the client.
    pub volunteers: Vec<String>,
    /// User ids holding a break-glass grant that is active now (the caller
    /// applies the one-hour expiry, so policies need no clock).
    pub break_glass: Vec<String>,
    /// Whether the client consented to volunteers contacting them.
    pub contact_consent: bool,
}
