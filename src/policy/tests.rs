//! The role table as executable checks: for each role and situation the
//! *exact* set of allowed actions, so a too-broad policy fails as surely as
//! a missing one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

use super::*;

/// Case work on one's caseload (the `caseload` action group).
const CASELOAD: &[&str] = &[
    "client_list_codes",
    "client_read",
    "client_read_identity",
    "client_read_contact",
    "client_read_health",
    "client_read_narrative",
    "client_update",
    "consent_record",
    "need_record",
    "referral_create",
    "referral_read",
    "referral_transition",
    "support_read",
    "followup_flag",
    "client_close_request",
    "client_reopen",
];

/// Supervisor-only decisions (the `supervision` action group).
const SUPERVISION: &[&str] = &[
    "consent_override",
    "volunteer_assign",
    "client_close",
    "client_reassign",
    "client_erase",
    "client_move",
    "alert_acknowledge",
];

const VOLUNTEER: &[&str] = &[
    "client_list_codes",
    "client_read",
    "support_log",
    "support_read",
    "followup_flag",
];

fn set(parts: &[&[&str]]) -> BTreeSet<&'static str> {
    parts
        .iter()
        .flat_map(|part| part.iter())
        .map(|name| name.parse::<Action>().unwrap().name())
        .collect()
}

fn engine() -> PolicyEngine {
    PolicyEngine::embedded().unwrap()
}

/// Province 40 > districts 412, 413 > commune 41201 (in 412).
fn areas() -> Areas {
    let node = |code: &str, kind: &str, parent: Option<&str>| AreaNode {
        code: code.into(),
        kind: kind.into(),
        parent: parent.map(Into::into),
        successors: vec![],
    };
    Areas::new([
        node("40", "province", None),
        node("412", "district", Some("40")),
        node("413", "district", Some("40")),
        node("41201", "commune", Some("412")),
    ])
    .unwrap()
}

fn user(id: &str, role: Role, area: &str) -> Principal {
    Principal {
        user_id: id.into(),
        role,
        area: area.into(),
        active: true,
    }
}

/// A client of commune 41201 (district 412) on sw1's caseload, with vol1.
fn client() -> ClientFacts {
    ClientFacts {
        client_id: "c1".into(),
        area: "41201".into(),
        assigned_worker: Some("sw1".into()),
        volunteers: vec!["vol1".into()],
        break_glass: vec![],
        contact_consent: true,
    }
}

fn with_break_glass(mut client: ClientFacts, user: &str) -> ClientFacts {
    client.break_glass.push(user.into());
    client
}

fn client_actions(who: &Principal, client: &ClientFacts) -> BTreeSet<&'static str> {
    client_actions_in(&engine(), who, client)
}

fn client_actions_in(engine: &PolicyEngine, who: &Principal, client: &ClientFacts) -> BTreeSet<&'static str> {
    let areas = areas();
    let resource = Resource::Client(client.clone());
    Action::ALL
        .iter()
        .filter(|action| action.on_client())
        .filter(|action| engine.is_allowed(&areas, who, **action, &resource))
        .map(Action::name)
        .collect()
}

/// System actions; those about an area are tried in commune 41201 (district 412).
fn system_actions(who: &Principal) -> BTreeSet<&'static str> {
    system_actions_in(&engine(), who)
}

fn system_actions_in(engine: &PolicyEngine, who: &Principal) -> BTreeSet<&'static str> {
    let areas = areas();
    Action::ALL
        .iter()
        .filter(|action| !action.on_client())
        .filter(|action| {
            let resource = if action.takes_area() {
                Resource::in_area("41201")
            } else {
                Resource::system()
            };
            engine.is_allowed(&areas, who, **action, &resource)
        })
        .map(Action::name)
        .collect()
}

#[test]
fn embedded_and_on_disk_policies_load_without_warnings() {
    let engine = engine();
    let result = Validator::new(engine.schema.clone()).validate(&engine.policies, ValidationMode::Strict);
    assert!(
        result.validation_passed_without_warnings(),
        "{:?}",
        result.validation_warnings().collect::<Vec<_>>()
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let loaded = PolicyEngine::load(&dir).unwrap();
    assert_eq!(loaded.policies.num_of_policies(), engine.policies.num_of_policies());
}

#[test]
fn every_action_is_declared_in_the_schema_and_vice_versa() {
    let engine = engine();
    let schema = &engine.schema;
    let groups: BTreeSet<String> = schema.action_groups().map(ToString::to_string).collect();
    let declared: BTreeSet<String> = schema
        .actions()
        .map(ToString::to_string)
        .filter(|uid| !groups.contains(uid))
        .collect();
    let ours: BTreeSet<String> = Action::ALL
        .iter()
        .map(|action| format!("Hoanhap::Action::\"{}\"", action.name()))
        .collect();
    assert_eq!(declared, ours, "Action enum and schema disagree");

    for action in Action::ALL {
        let uid = Types::uid(&engine.types.action, action.name());
        let resources: Vec<String> = schema
            .resources_for_action(&uid)
            .unwrap()
            .map(ToString::to_string)
            .collect();
        let expected = if action.on_client() {
            "Hoanhap::Client"
        } else {
            "Hoanhap::System"
        };
        assert_eq!(resources, [expected], "{action}");
    }
}

#[test]
fn names_round_trip() {
    for action in Action::ALL {
        assert_eq!(action.name().parse::<Action>().unwrap(), *action);
        assert_eq!(serde_json::to_string(action).unwrap(), format!("\"{}\"", action.name()));
    }
    for role in Role::ALL {
        assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        assert_eq!(serde_json::to_string(&role).unwrap(), format!("\"{role}\""));
    }
    assert!("superuser".parse::<Role>().is_err());
    assert!("client_delete".parse::<Action>().is_err());
}

// ---- social worker ------------------------------------------------------

#[test]
fn social_worker_own_caseload() {
    let sw1 = user("sw1", Role::SocialWorker, "412");
    assert_eq!(
        client_actions(&sw1, &client()),
        set(&[CASELOAD, &["client_erase_request", "transfer_request"]])
    );
}

#[test]
fn social_worker_same_district_other_caseload_sees_codes_only() {
    let sw2 = user("sw2", Role::SocialWorker, "412");
    assert_eq!(
        client_actions(&sw2, &client()),
        set(&[&["client_list_codes", "break_glass"]])
    );
    let unassigned = ClientFacts {
        assigned_worker: None,
        ..client()
    };
    assert_eq!(
        client_actions(&sw2, &unassigned),
        set(&[&["client_list_codes", "break_glass"]])
    );
}

#[test]
fn social_worker_other_district_only_break_glass() {
    let sw3 = user("sw3", Role::SocialWorker, "413");
    assert_eq!(client_actions(&sw3, &client()), set(&[&["break_glass"]]));
}

#[test]
fn social_worker_break_glass_grants_case_work_only() {
    let sw3 = user("sw3", Role::SocialWorker, "413");
    assert_eq!(
        client_actions(&sw3, &with_break_glass(client(), "sw3")),
        set(&[CASELOAD, &["break_glass"]])
    );
}

// ---- supervisor ---------------------------------------------------------

#[test]
fn supervisor_whole_district() {
    let expected = set(&[CASELOAD, SUPERVISION, &["client_erase_request", "transfer_request"]]);
    let sup1 = user("sup1", Role::Supervisor, "412");
    assert_eq!(client_actions(&sup1, &client()), expected);
    // A province-scoped supervisor covers every district.
    let sup_prov = user("sup0", Role::Supervisor, "40");
    assert_eq!(client_actions(&sup_prov, &client()), expected);
    // An own-area grant adds nothing (break-glass is for outside scope).
    assert_eq!(client_actions(&sup1, &with_break_glass(client(), "sup1")), expected);
}

#[test]
fn supervisor_other_district() {
    let sup2 = user("sup2", Role::Supervisor, "413");
    assert_eq!(client_actions(&sup2, &client()), set(&[&["break_glass"]]));
    // Break-glass: as a social worker would, never erase/reassign/approve, and never
    // move the client to another area (a transfer would make the access permanent).
    assert_eq!(
        client_actions(&sup2, &with_break_glass(client(), "sup2")),
        set(&[CASELOAD, &["break_glass"]])
    );
}

// ---- volunteer ----------------------------------------------------------

#[test]
fn volunteer_assigned_with_and_without_contact_consent() {
    let vol1 = user("vol1", Role::Volunteer, "41201");
    assert_eq!(
        client_actions(&vol1, &client()),
        set(&[VOLUNTEER, &["client_read_contact"]])
    );
    let no_consent = ClientFacts {
        contact_consent: false,
        ..client()
    };
    assert_eq!(client_actions(&vol1, &no_consent), set(&[VOLUNTEER]));
}

#[test]
fn volunteer_not_assigned_sees_nothing() {
    let vol2 = user("vol2", Role::Volunteer, "41201");
    assert_eq!(client_actions(&vol2, &client()), set(&[]));
}

#[test]
fn volunteer_never_gets_more_even_if_listed_elsewhere() {
    // Bad data (a volunteer as assigned worker or with a grant) must not
    // open identity, health, referrals or notes.
    let vol1 = user("vol1", Role::Volunteer, "41201");
    let odd = ClientFacts {
        assigned_worker: Some("vol1".into()),
        ..with_break_glass(client(), "vol1")
    };
    assert_eq!(client_actions(&vol1, &odd), set(&[VOLUNTEER, &["client_read_contact"]]));
}

// ---- roles without client access ---------------------------------------

#[test]
fn manager_auditor_admin_never_touch_clients() {
    for (id, role) in [("mgr", Role::Manager), ("aud", Role::Auditor), ("adm", Role::Admin)] {
        let who = user(id, role, "40");
        // Even when the client row names them everywhere.
        let odd = ClientFacts {
            assigned_worker: Some(id.into()),
            volunteers: vec![id.into()],
            break_glass: vec![id.into()],
            ..client()
        };
        assert_eq!(client_actions(&who, &odd), set(&[]), "{role}");
        let verdict = engine()
            .authorize(&areas(), &who, Action::ClientRead, &Resource::Client(odd))
            .unwrap();
        assert!(!verdict.allowed);
        assert!(verdict.policies.contains(&"forbid.client_data_roles".to_owned()));
    }
}

// ---- system actions ----------------------------------------------------

#[test]
fn system_actions_per_role() {
    let cases: [(Principal, &[&str]); 8] = [
        (
            user("sw1", Role::SocialWorker, "412"),
            &["client_create", "followups_read", "providers_read", "transfers_read"],
        ),
        (
            user("sup1", Role::Supervisor, "412"),
            &[
                "client_create",
                "followups_read",
                "providers_read",
                "providers_manage",
                "transfer_decide",
                "transfers_read",
            ],
        ),
        (user("vol1", Role::Volunteer, "41201"), &["providers_read"]),
        (user("mgr", Role::Manager, "40"), &["stats_view", "stats_publish"]),
        (user("mgr412", Role::Manager, "412"), &["stats_view"]),
        (user("aud", Role::Auditor, "40"), &["audit_read"]),
        (
            user("adm", Role::Admin, "40"),
            &[
                "users_manage",
                "areas_manage",
                "settings_manage",
                "providers_manage",
                "providers_read",
            ],
        ),
        // Creating outside one's own area is refused (41201 is in 412).
        (
            user("sw3", Role::SocialWorker, "413"),
            &["followups_read", "providers_read", "transfers_read"],
        ),
    ];
    for (who, expected) in cases {
        assert_eq!(system_actions(&who), set(&[expected]), "{}", who.user_id);
    }
}

#[test]
fn client_create_needs_an_area() {
    let sw1 = user("sw1", Role::SocialWorker, "412");
    let err = engine()
        .authorize(&areas(), &sw1, Action::ClientCreate, &Resource::system())
        .unwrap_err();
    assert!(matches!(err, PolicyError::Request(_)), "{err}");
    assert!(!engine().is_allowed(&areas(), &sw1, Action::ClientCreate, &Resource::system()));
}

// ---- inactive accounts and errors ---------------------------------------

#[test]
fn inactive_users_are_denied_everything() {
    let grants = ClientFacts {
        assigned_worker: Some("u".into()),
        volunteers: vec!["u".into()],
        break_glass: vec!["u".into()],
        ..client()
    };
    for role in Role::ALL {
        let who = Principal {
            active: false,
            ..user("u", role, "40")
        };
        assert_eq!(client_actions(&who, &grants), set(&[]), "{role}");
        assert_eq!(system_actions(&who), set(&[]), "{role}");
    }
    let verdict = engine()
        .authorize(
            &areas(),
            &Principal {
                active: false,
                ..user("adm", Role::Admin, "40")
            },
            Action::UsersManage,
            &Resource::system(),
        )
        .unwrap();
    assert_eq!(verdict.policies, ["forbid.inactive"]);
}

#[test]
fn verdict_names_the_deciding_policy() {
    let sw1 = user("sw1", Role::SocialWorker, "412");
    let verdict = engine()
        .authorize(&areas(), &sw1, Action::ClientReadHealth, &Resource::Client(client()))
        .unwrap();
    assert_eq!(
        verdict,
        Verdict {
            allowed: true,
            policies: vec!["social_worker.caseload".into()],
        }
    );
}

#[test]
fn mismatched_resource_or_unknown_area_denies() {
    let (engine, areas) = (engine(), areas());
    let sup1 = user("sup1", Role::Supervisor, "412");
    // A client action on the system resource does not match the schema.
    assert!(matches!(
        engine.authorize(&areas, &sup1, Action::ClientRead, &Resource::system()),
        Err(PolicyError::Request(_))
    ));
    // A system action on a client likewise.
    let on_client = Resource::Client(client());
    assert!(!engine.is_allowed(&areas, &sup1, Action::ProvidersRead, &on_client));
    // An area missing from the hierarchy.
    let lost = Resource::Client(ClientFacts {
        area: "999".into(),
        ..client()
    });
    assert!(matches!(
        engine.authorize(&areas, &sup1, Action::ClientRead, &lost),
        Err(PolicyError::UnknownArea(code)) if code == "999"
    ));
    let nowhere = user("sup9", Role::Supervisor, "999");
    assert!(!engine.is_allowed(&areas, &nowhere, Action::ProvidersRead, &Resource::system()));
}

// ---- loading ------------------------------------------------------------

fn policy_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(SCHEMA_FILE), EMBEDDED_SCHEMA).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

#[test]
fn load_rejects_a_policy_that_fails_validation_naming_the_file() {
    let bad = r#"permit (principal, action == Hoanhap::Action::"client_read", resource)
        when { principal.nickname == "x" };"#;
    let dir = policy_dir(&[("hoanhap.cedar", EMBEDDED_POLICIES), ("extra.cedar", bad)]);
    let err = PolicyEngine::load(dir.path()).unwrap_err();
    assert!(
        matches!(&err, PolicyError::Validation { file, .. } if file == "extra.cedar"),
        "{err}"
    );
    assert!(err.to_string().contains("extra.cedar"), "{err}");
}

#[test]
fn load_rejects_unknown_action_parse_errors_and_duplicate_ids() {
    let unknown = r#"permit (principal, action == Hoanhap::Action::"client_delete", resource);"#;
    let dir = policy_dir(&[("unknown.cedar", unknown)]);
    let err = PolicyEngine::load(dir.path()).unwrap_err();
    assert!(
        matches!(&err, PolicyError::Validation { file, .. } if file == "unknown.cedar"),
        "{err}"
    );

    let dir = policy_dir(&[("broken.cedar", "permit (principal, action, resource")]);
    let err = PolicyEngine::load(dir.path()).unwrap_err();
    assert!(
        matches!(&err, PolicyError::Parse { file, .. } if file == "broken.cedar"),
        "{err}"
    );

    let again = r#"@id("forbid.inactive")
        forbid (principal, action, resource) unless { principal.active };"#;
    let dir = policy_dir(&[("hoanhap.cedar", EMBEDDED_POLICIES), ("z.cedar", again)]);
    let err = PolicyEngine::load(dir.path()).unwrap_err();
    assert!(
        matches!(&err, PolicyError::Parse { file, .. } if file == "z.cedar"),
        "{err}"
    );
}

#[test]
fn load_needs_schema_and_policies() {
    let empty = tempfile::tempdir().unwrap();
    let err = PolicyEngine::load(empty.path()).unwrap_err();
    assert!(matches!(err, PolicyError::Io { .. }), "{err}");
    assert!(err.to_string().contains(SCHEMA_FILE), "{err}");

    let dir = policy_dir(&[]);
    assert!(matches!(
        PolicyEngine::load(dir.path()),
        Err(PolicyError::NoPolicies { .. })
    ));

    let dir = policy_dir(&[("hoanhap.cedar", EMBEDDED_POLICIES)]);
    std::fs::write(dir.path().join(SCHEMA_FILE), "namespace Hoanhap { entity }").unwrap();
    let err = PolicyEngine::load(dir.path()).unwrap_err();
    assert!(
        matches!(&err, PolicyError::Schema { file, .. } if file == SCHEMA_FILE),
        "{err}"
    );
}

// ---- areas --------------------------------------------------------------

#[test]
fn areas_checks_and_scope_helpers() {
    let areas = areas();
    assert!(areas.covers("40", "41201"));
    assert!(areas.covers("412", "412"));
    assert!(!areas.covers("413", "41201"));
    assert!(!areas.covers("40", "999"));
    assert_eq!(areas.within("412"), ["412", "41201"]);
    assert_eq!(areas.within("40").len(), 4);

    let node = |code: &str, parent: Option<&str>| AreaNode {
        code: code.into(),
        kind: "district".into(),
        parent: parent.map(Into::into),
        successors: vec![],
    };
    assert!(Areas::new([node("a", Some("b")), node("b", Some("a"))]).is_err());
    assert!(Areas::new([node("a", Some("zz"))]).is_err());
    assert!(Areas::new([node("a", None), node("a", None)]).is_err());
}

// ---- defence in depth ----------------------------------------------------

#[test]
fn forbids_hold_even_against_a_permit_everything_policy() {
    // A careless future policy must not open the "may never" column.
    let permit_all = "permit (principal, action, resource);";
    let engine = PolicyEngine::from_sources(
        EMBEDDED_SCHEMA,
        &[("hoanhap.cedar", EMBEDDED_POLICIES), ("oops.cedar", permit_all)],
    )
    .unwrap();
    let all_client: BTreeSet<&str> = Action::ALL
        .iter()
        .filter(|action| action.on_client())
        .map(Action::name)
        .collect();
    let client_data: BTreeSet<&str> = all_client
        .iter()
        .copied()
        .chain(["client_create", "followups_read"])
        .collect();

    // Managers, auditors, admins: no client data at all.
    for role in [Role::Manager, Role::Auditor, Role::Admin] {
        let who = user("x", role, "40");
        assert_eq!(client_actions_in(&engine, &who, &client()), set(&[]), "{role}");
        let system = system_actions_in(&engine, &who);
        assert!(system.is_disjoint(&client_data), "{role}: {system:?}");
    }
    // Volunteers: only the support actions, contact only with consent.
    let vol1 = user("vol1", Role::Volunteer, "41201");
    let no_consent = ClientFacts {
        contact_consent: false,
        ..client()
    };
    assert_eq!(client_actions_in(&engine, &vol1, &no_consent), set(&[VOLUNTEER]));
    // Social workers: nothing on another caseload but codes in the district
    // and the break-glass request; never supervision decisions.
    let sw2 = user("sw2", Role::SocialWorker, "412");
    assert_eq!(
        client_actions_in(&engine, &sw2, &client()),
        set(&[&["client_list_codes", "break_glass"]])
    );
    let sw1 = user("sw1", Role::SocialWorker, "412");
    let own = client_actions_in(&engine, &sw1, &client());
    assert!(own.is_disjoint(&set(&[SUPERVISION])), "{own:?}");
    // Supervisors: other areas only through break-glass, and then never
    // the supervision decisions.
    let sup2 = user("sup2", Role::Supervisor, "413");
    assert_eq!(client_actions_in(&engine, &sup2, &client()), set(&[&["break_glass"]]));
    let granted = client_actions_in(&engine, &sup2, &with_break_glass(client(), "sup2"));
    assert!(granted.is_disjoint(&set(&[SUPERVISION])), "{granted:?}");
    // Inactive accounts: nothing.
    let gone = Principal {
        active: false,
        ..user("sup1", Role::Supervisor, "40")
    };
    assert_eq!(client_actions_in(&engine, &gone, &client()), set(&[]));
    assert_eq!(system_actions_in(&engine, &gone), set(&[]));
    // Statistics are published from province scope only.
    let mgr412 = user("mgr412", Role::Manager, "412");
    assert!(!system_actions_in(&engine, &mgr412).contains("stats_publish"));
}

#[test]
fn engine_and_areas_can_be_shared_across_tasks() {
    fn shared<T: Send + Sync + 'static>() {}
    shared::<PolicyEngine>();
    shared::<Areas>();
}

/// After a reform: district 412 retired, taken over by wards 16681 and 16682, and still
/// the parent of its old commune 41201.
fn reformed() -> Areas {
    let node = |code: &str, kind: &str, parent: &str, successors: &[&str]| AreaNode {
        code: code.into(),
        kind: kind.into(),
        parent: (!parent.is_empty()).then(|| parent.into()),
        successors: successors.iter().map(|s| (*s).into()).collect(),
    };
    Areas::new([
        node("40", "province", "", &[]),
        node("412", "district", "40", &["16681", "16682"]),
        node("41201", "commune", "412", &[]),
        node("16681", "ward", "40", &[]),
        node("16682", "ward", "40", &[]),
        node("16700", "ward", "40", &[]),
    ])
    .unwrap()
}

#[test]
fn a_retired_units_clients_lie_inside_each_successor_until_moved() {
    let areas = reformed();
    // The wards that took 412 over cover its unmoved clients, down to its old communes.
    assert!(areas.covers("16681", "412") && areas.covers("16682", "41201"));
    assert!(!areas.covers("16700", "412"), "a ward that did not take 412 over");
    // The retired district keeps its own, not the wards' clients.
    assert!(areas.covers("412", "41201") && !areas.covers("412", "16681"));
    assert_eq!(areas.within("16681"), ["16681", "412", "41201"]);
    assert!(
        Areas::new([AreaNode {
            code: "a".into(),
            kind: "district".into(),
            parent: None,
            successors: vec!["gone".into()],
        }])
        .is_err()
    );

    let engine = engine();
    let unmoved = Resource::Client(ClientFacts {
        client_id: "c9".into(),
        area: "41201".into(),
        assigned_worker: None,
        volunteers: vec![],
        break_glass: vec![],
        contact_consent: false,
    });
    let may_read = |who: &Principal| engine.is_allowed(&areas, who, Action::ClientRead, &unmoved);
    assert!(may_read(&user("s1", Role::Supervisor, "16681")));
    assert!(may_read(&user("s2", Role::Supervisor, "412")));
    assert!(may_read(&user("s3", Role::Supervisor, "40")));
    assert!(!may_read(&user("s4", Role::Supervisor, "16700")));
}
