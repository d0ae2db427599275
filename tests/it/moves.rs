//! Moving clients and staff across a reform: after the 2025 units are imported with the
//! reform of 1 July 2025, a client of retired Vinh (412) stays visible to its staff and
//! to the staff of the wards that took it over until a supervisor moves her; a move is
//! dated, kept in her area history, audited, all or nothing, and never a way round a
//! transfer; an admin moves the staff of the retired unit.

use chrono::NaiveDate;
use hoanhap::policy::Role;
use serde_json::{Value, json};

use crate::kit::pages::PageClient;
use crate::kit::world::{World, get, intake, open_case, post, world};
use crate::kit::{Api, add_user};

const REFORM: &str = "2025-07-01";
/// Three of the six wards that took over Thành phố Vinh.
const WARDS: [&str; 3] = ["16681", "16690", "16702"];
/// A commune that took over another district (Kỳ Sơn, 417).
const OTHER_WARD: &str = "16813";

/// Imports the shipped 2025 units into the 2024 world, as `hoanhap areas reform` does.
async fn reform(w: &World) {
    let csv = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/seed/areas-nghe-an-2025.csv")).unwrap();
    let on: NaiveDate = REFORM.parse().unwrap();
    let done = hoanhap::areas::service::import(w.state(), &w.staff.admin, &csv, Some(on))
        .await
        .unwrap();
    assert_eq!(done.added, 130);
}

fn codes(list: &Value) -> Vec<String> {
    let mut codes: Vec<String> = list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    codes
}

async fn caseload(api: &Api) -> Vec<String> {
    let (status, list) = get(api, "/api/v1/clients").await;
    assert_eq!(status, 200, "{list}");
    codes(&list)
}

fn sorted(codes: &[&str]) -> Vec<String> {
    let mut codes: Vec<String> = codes.iter().map(|c| (*c).to_owned()).collect();
    codes.sort();
    codes
}

async fn moves(api: &Api, body: Value) -> (u16, Value) {
    post(api, "/api/v1/moves/clients", body).await
}

async fn audited(w: &World, action: &str, outcome: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1 AND outcome = $2")
        .bind(action)
        .bind(outcome)
        .fetch_one(&w.state().db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_retired_units_clients_stay_in_reach_of_its_successors_until_a_supervisor_moves_them() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let sw_other = w.login("sw.cualo").await;
    let vinh: Vec<String> = {
        let mut codes = Vec::new();
        for _ in 0..3 {
            codes.push(open_case(&sw, intake()).await["code"].as_str().unwrap().to_owned());
        }
        codes
    };
    let mut in_413 = intake();
    in_413["area"] = json!("413");
    let cualo = open_case(&sw_other, in_413).await["code"].as_str().unwrap().to_owned();
    reform(&w).await;
    let state = w.state();
    add_user(state, "sup.ward", Role::Supervisor, WARDS[0]).await;
    add_user(state, "sup.ward.other", Role::Supervisor, OTHER_WARD).await;
    add_user(state, "sup.tinh", Role::Supervisor, "40").await;
    let sup_ward = w.login("sup.ward").await;
    let sup_ward_other = w.login("sup.ward.other").await;
    let sup_old = w.login("sup.vinh").await;
    let sup_tinh = w.login("sup.tinh").await;

    // Until moved, Vinh's clients are in reach of Vinh's staff and of its wards' staff.
    let all_vinh: Vec<&str> = vinh.iter().map(String::as_str).collect();
    assert_eq!(caseload(&sup_ward).await, sorted(&all_vinh));
    assert_eq!(caseload(&sup_old).await, sorted(&all_vinh));
    assert_eq!(caseload(&sw).await, sorted(&all_vinh));
    assert!(
        caseload(&sup_ward_other).await.is_empty(),
        "a ward that did not take Vinh over"
    );
    let mut everyone = all_vinh.clone();
    everyone.push(&cualo);
    assert_eq!(caseload(&sup_tinh).await, sorted(&everyone));

    // The page of what is still to be moved names each client's possible units.
    let (status, pending) = get(&sup_ward, "/api/v1/moves").await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(pending["clients_total"], 3);
    let successors = &pending["clients"][0]["successors"];
    assert_eq!(
        successors.as_array().unwrap().len(),
        6,
        "Vinh went to six wards: {successors}"
    );
    assert!(
        WARDS
            .iter()
            .all(|ward| successors.as_array().unwrap().contains(&json!(ward)))
    );

    // A bad batch is refused whole, each line named, and nothing moves.
    let (status, refused) = moves(
        &sup_ward,
        json!({ "on": REFORM, "moves": [
            { "code": vinh[0], "to": WARDS[0] },
            { "code": vinh[1], "to": OTHER_WARD },
            { "code": cualo, "to": WARDS[0] },
            { "code": "NA-0000-99999", "to": WARDS[0] },
            { "code": vinh[0], "to": WARDS[1] },
        ] }),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    let fields = &refused["error"]["fields"];
    assert!(
        fields.get("moves[0].code").is_none() && fields.get("moves[0].to").is_none(),
        "{fields}"
    );
    assert!(fields["moves[1].to"].is_string(), "not a successor of Vinh: {fields}");
    assert_eq!(
        fields["moves[2].code"], fields["moves[3].code"],
        "out of reach reads as unknown: {fields}"
    );
    assert!(fields["moves[4].code"].is_string(), "the same client twice: {fields}");
    assert_eq!(caseload(&sup_old).await, sorted(&all_vinh), "nothing moved");
    assert_eq!(audited(&w, "client_move", "denied").await, 1, "the client out of reach");
    let refusals = audited(&w, "client_move", "failure").await;
    let (status, refused) = moves(&sup_ward, json!({ "on": REFORM, "moves": [] })).await;
    assert_eq!(status, 422);
    assert!(refused["error"]["fields"]["moves"].is_string(), "{refused}");
    assert_eq!(
        audited(&w, "client_move", "failure").await,
        refusals + 1,
        "an empty list is a refused batch too"
    );

    // A move dated before Vinh ended is a transfer, not a reform; a future one is refused.
    for (on, field) in [("2025-06-30", "moves[0].code"), ("2999-01-01", "on")] {
        let (status, refused) = moves(
            &sup_ward,
            json!({ "on": on, "moves": [{ "code": vinh[0], "to": WARDS[0] }] }),
        )
        .await;
        assert_eq!(status, 422, "{refused}");
        assert!(refused["error"]["fields"][field].is_string(), "{on}: {refused}");
    }

    // Three clients to three wards, from the day of the reform.
    let (status, moved) = moves(
        &sup_ward,
        json!({ "on": REFORM, "moves": [
            { "code": vinh[0], "to": WARDS[0] },
            { "code": vinh[1], "to": WARDS[1] },
            { "code": vinh[2], "to": WARDS[2] },
        ] }),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["moved"], 3);
    assert_eq!(audited(&w, "client_move", "success").await, 3);
    // The ward's supervisor keeps only her ward's client; Vinh's keeps none of them now.
    assert_eq!(caseload(&sup_ward).await, sorted(&[vinh[0].as_str()]));
    assert!(caseload(&sup_old).await.is_empty());
    assert_eq!(caseload(&sup_tinh).await, sorted(&everyone));
    let (_, pending) = get(&sup_ward, "/api/v1/moves").await;
    assert_eq!(pending["clients_total"], 0);
    // Her history keeps Vinh, and the ward from the day of the reform.
    let history: Vec<(String, String)> = sqlx::query_as(
        "SELECT h.area, h.from_date FROM client_areas h JOIN clients c ON c.id = h.client_id \
         WHERE c.code = $1 ORDER BY h.from_date",
    )
    .bind(&vinh[0])
    .fetch_all(&state.db.pool)
    .await
    .unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].0, "412");
    assert_eq!(history[1], (WARDS[0].to_owned(), REFORM.to_owned()));
    // Moving her again is a transfer now: her ward is in force.
    let (status, _) = moves(
        &sup_ward,
        json!({ "on": REFORM, "moves": [{ "code": vinh[0], "to": WARDS[1] }] }),
    )
    .await;
    assert_eq!(status, 422);

    // Her worker stays her worker (the assignment, not the area, gives her the case), but
    // an account of retired Vinh cannot open a case in a ward until the admin moves it.
    assert_eq!(caseload(&sw).await, sorted(&all_vinh));
    let mut in_ward = intake();
    in_ward["area"] = json!(WARDS[0]);
    let (status, _) = post(&sw, "/api/v1/clients", in_ward.clone()).await;
    assert_eq!(status, 403, "a case in a ward outside her scope");
    let admin = w.login("admin").await;
    let (status, pending) = get(&admin, "/api/v1/moves").await;
    assert_eq!(status, 200, "{pending}");
    let waiting: Vec<&str> = pending["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap())
        .collect();
    assert!(
        waiting.contains(&"sw.vinh") && waiting.contains(&"sup.vinh"),
        "{waiting:?}"
    );
    assert!(!waiting.contains(&"sw.cualo"), "Cửa Lò is not retired by this file");
    let (status, refused) = post(
        &admin,
        "/api/v1/moves/accounts",
        json!({ "moves": [{ "username": "sw.vinh", "to": "412" }, { "username": "sw.cualo", "to": WARDS[0] }] }),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    let fields = &refused["error"]["fields"];
    assert!(
        fields["moves[0].to"].is_string() && fields["moves[1].username"].is_string(),
        "{fields}"
    );
    let (status, moved) = post(
        &admin,
        "/api/v1/moves/accounts",
        json!({ "moves": [{ "username": "sw.vinh", "to": WARDS[0] }] }),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    let (status, opened) = post(&sw, "/api/v1/clients", in_ward).await;
    assert_eq!(status, 201, "her scope is the ward from her next request: {opened}");
    assert_eq!(audited(&w, "user_move", "success").await, 1);
    let (_, pending) = get(&admin, "/api/v1/moves").await;
    assert!(
        !pending["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["username"] == "sw.vinh")
    );
    // Only supervisors move clients.
    let (status, _) = moves(
        &sw,
        json!({ "on": REFORM, "moves": [{ "code": vinh[1], "to": WARDS[0] }] }),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_supervisor_moves_clients_from_a_pasted_list_in_the_page() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let first = open_case(&sw, intake()).await["code"].as_str().unwrap().to_owned();
    let second = open_case(&sw, intake()).await["code"].as_str().unwrap().to_owned();
    reform(&w).await;
    add_user(w.state(), "sup.ward", Role::Supervisor, WARDS[0]).await;
    let page = PageClient::login(&w.server, "sup.ward").await;
    let (status, html) = page.get("/moves").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&first) && html.contains(&second) && html.contains("Phường Thành Vinh"),
        "{html}"
    );

    // One bad line refuses the list, naming the line (the header is line 1).
    let list = format!("code,to\n{first},{}\n{second},{OTHER_WARD}\n", WARDS[0]);
    let res = page.post("/moves/clients", &[("on", REFORM), ("csv", &list)]).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("Dòng 3, to"), "{html}");
    assert!(html.contains(&format!("{second},{OTHER_WARD}")), "the list is kept");
    let res = page
        .post("/moves/clients", &[("on", REFORM), ("csv", "kod;to\nx;y")])
        .await;
    assert_eq!(res.status(), 422, "a list without its header");
    let long = format!("code,to\n{}", format!("{first},{}\n", WARDS[0]).repeat(2001));
    let res = page.post("/moves/clients", &[("on", REFORM), ("csv", &long)]).await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text().await.unwrap().contains("Tối đa 2000 dòng mỗi lần."),
        "a list too long"
    );

    let list = format!("code,to\n{first},{}\n{second},{}\n", WARDS[0], WARDS[1]);
    let res = page.post("/moves/clients", &[("on", REFORM), ("csv", &list)]).await;
    assert_eq!(res.status(), 303);
    let (_, html) = page.get("/moves?done=clients").await;
    assert!(
        html.contains("Đã chuyển các thân chủ.") && !html.contains(&second),
        "{html}"
    );
    assert_eq!(caseload(&w.login("sup.ward").await).await, sorted(&[first.as_str()]));
}

#[tokio::test]
async fn after_the_moves_a_ward_social_worker_sees_her_wards_clients_only() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let here = open_case(&sw, intake()).await;
    let there = open_case(&sw, intake()).await;
    let id = |c: &Value| c["id"].as_str().unwrap().to_owned();
    let code = |c: &Value| c["code"].as_str().unwrap().to_owned();
    reform(&w).await;
    let state = w.state();
    let worker = add_user(state, "sw.ward", Role::SocialWorker, WARDS[0]).await;
    add_user(state, "sup.tinh", Role::Supervisor, "40").await;
    let sw_ward = w.login("sw.ward").await;
    let province = w.login("sup.tinh").await;

    // Before the move, Vinh's client is in her ward's reach as a code, not as a case.
    let (status, _) = get(&sw_ward, &format!("/api/v1/clients/{}", id(&here))).await;
    assert_eq!(status, 403);

    let (status, moved) = moves(
        &province,
        json!({ "on": REFORM, "moves": [
            { "code": code(&here), "to": WARDS[0] }, { "code": code(&there), "to": WARDS[1] },
        ] }),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    let (status, body) = post(
        &province,
        &format!("/api/v1/clients/{}/reassign", id(&here)),
        json!({ "user_id": worker }),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    assert_eq!(caseload(&sw_ward).await, sorted(&[code(&here).as_str()]));
    let (status, _) = get(&sw_ward, &format!("/api/v1/clients/{}", id(&here))).await;
    assert_eq!(status, 200);
    let (status, _) = get(&sw_ward, &format!("/api/v1/clients/{}", id(&there))).await;
    assert_eq!(status, 404, "another ward's client is not even listed");
    assert_eq!(
        caseload(&province).await,
        sorted(&[code(&here).as_str(), code(&there).as_str()])
    );
    assert!(
        caseload(&w.login("sup.vinh").await).await.is_empty(),
        "nothing left in Vinh"
    );
}
