//! The service-provider directory and the service categories, through the API.

use crate::kit::Api;
use crate::kit::world::{json_of, world};
use reqwest::Method;
use serde_json::{Value, json};

fn names(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn supervisors_and_admins_keep_the_directory_that_field_staff_read() {
    let w = world().await;
    let admin = Api::login(&w.server, "admin").await;
    let sup = Api::login(&w.server, "sup.vinh").await;
    let sw = Api::login(&w.server, "sw.vinh").await;
    let vol = Api::login(&w.server, "vol.vinh").await;
    let mgr = Api::login(&w.server, "mgr").await;
    let aud = Api::login(&w.server, "aud").await;

    let (status, school) = json_of(
        admin
            .post(
                "/api/v1/providers",
                json!({"name": "Trường Trung cấp nghề Vinh", "category": "vocational_training", "area": "412",
                       "contact": "0238 3844 000"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{school}");
    assert_eq!(school["active"], true);
    assert_eq!(school["contact"], "0238 3844 000");
    // A supervisor keeps the providers of her own district only: not the province's,
    // not another district's.
    for area in ["40", "413"] {
        let (status, body) = json_of(
            sup.post(
                "/api/v1/providers",
                json!({"name": "Ngân hàng Chính sách xã hội", "category": "loan", "area": area}),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, 403, "{area}: {body}");
    }
    let (status, bank) = json_of(
        admin
            .post(
                "/api/v1/providers",
                json!({"name": "Ngân hàng Chính sách xã hội", "category": "loan", "area": "40"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{bank}");
    assert!(bank["contact"].is_null());
    let (status, clinic) = json_of(
        admin
            .post(
                "/api/v1/providers",
                json!({"name": "Trung tâm Y tế Cửa Lò", "category": "health_care", "area": "413"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    // Nor may she change another district's provider, or move her own out of her district.
    let clinic = clinic["id"].as_str().unwrap();
    let (status, _) = json_of(
        sup.send(Method::PATCH, &format!("/api/v1/providers/{clinic}"))
            .json(&json!({"contact": "0238 000 000"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    let school_id = school["id"].as_str().unwrap();
    let (status, _) = json_of(
        sup.send(Method::PATCH, &format!("/api/v1/providers/{school_id}"))
            .json(&json!({"area": "413"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);

    // Social workers and volunteers may read but not manage; managers and auditors neither.
    for api in [&sw, &vol] {
        let (status, body) = json_of(
            api.post(
                "/api/v1/providers",
                json!({"name": "X", "category": "loan", "area": "412"}),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["code"], "forbidden");
    }
    let (status, list) = json_of(vol.get("/api/v1/providers").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    let (status, _) = json_of(sw.get("/api/v1/providers").send().await.unwrap()).await;
    assert_eq!(status, 200);
    for api in [&mgr, &aud] {
        // Refused before the query is looked at, even one the API would reject.
        for path in ["/api/v1/providers", "/api/v1/providers?colour=red"] {
            let (status, body) = json_of(api.get(path).send().await.unwrap()).await;
            assert_eq!(status, 403, "{path}: {body}");
        }
    }

    // Filters: a category; an area lists providers there and those of the province.
    let (_, loans) = json_of(sw.get("/api/v1/providers?category=loan").send().await.unwrap()).await;
    assert_eq!(names(&loans), vec!["Ngân hàng Chính sách xã hội"]);
    let (_, vinh) = json_of(sw.get("/api/v1/providers?area=412").send().await.unwrap()).await;
    assert_eq!(
        names(&vinh),
        vec!["Ngân hàng Chính sách xã hội", "Trường Trung cấp nghề Vinh"]
    );
    let (status, _) = json_of(sw.get("/api/v1/providers?colour=red").send().await.unwrap()).await;
    assert_eq!(status, 400);

    // Rename, clear the contact, deactivate.
    let id = school["id"].as_str().unwrap();
    let (status, renamed) = json_of(
        sup.send(Method::PATCH, &format!("/api/v1/providers/{id}"))
            .json(&json!({"name": "Trường Cao đẳng nghề Vinh", "contact": ""}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["name"], "Trường Cao đẳng nghề Vinh");
    assert!(renamed["contact"].is_null());
    assert_eq!(renamed["category"], "vocational_training");
    let (status, _) = json_of(
        sw.send(Method::PATCH, &format!("/api/v1/providers/{id}"))
            .json(&json!({"active": false}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    let (status, off) = json_of(
        admin
            .send(Method::PATCH, &format!("/api/v1/providers/{id}"))
            .json(&json!({"active": false}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(off["active"], false);
    let (_, active) = json_of(sw.get("/api/v1/providers").send().await.unwrap()).await;
    assert!(!names(&active).contains(&"Trường Cao đẳng nghề Vinh".to_owned()));
    let (_, all) = json_of(sw.get("/api/v1/providers?include_inactive=true").send().await.unwrap()).await;
    assert!(names(&all).contains(&"Trường Cao đẳng nghề Vinh".to_owned()));
    let (status, one) = json_of(sw.get(&format!("/api/v1/providers/{id}")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(one["active"], false);

    let (status, _) = json_of(
        admin
            .send(Method::PATCH, "/api/v1/providers/no-such-id")
            .json(&json!({"name": "Y"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = json_of(sw.get("/api/v1/providers/no-such-id").send().await.unwrap()).await;
    assert_eq!(status, 404);

    // Managing the directory is audited, with ids only.
    let (_, audit) = json_of(aud.get("/api/v1/audit?limit=50").send().await.unwrap()).await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"provider_create") && actions.contains(&"provider_update"));
    assert!(!audit.to_string().contains("Vinh"));
}

#[tokio::test]
async fn a_bad_provider_is_refused_naming_each_field() {
    let w = world().await;
    let admin = Api::login(&w.server, "admin").await;
    let (status, body) = json_of(
        admin
            .send(Method::POST, "/api/v1/providers")
            .header("accept-language", "en")
            .json(&json!({"name": "  ", "category": "astrology", "area": "999", "contact": "x".repeat(501)}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "validation");
    let fields = body["error"]["fields"].as_object().unwrap();
    let mut named: Vec<&str> = fields.keys().map(String::as_str).collect();
    named.sort_unstable();
    assert_eq!(named, vec!["area", "category", "contact", "name"]);
    assert_eq!(fields["name"], "Required.");
    assert_eq!(fields["area"], "No such area.");

    let (status, body) = json_of(
        admin
            .post("/api/v1/providers", json!({"category": "loan", "area": "412"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["name"].is_string(), "{body}");

    let (status, created) = json_of(
        admin
            .post(
                "/api/v1/providers",
                json!({"name": "A", "category": "loan", "area": "412"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    let (status, body) = json_of(
        admin
            .send(
                Method::PATCH,
                &format!("/api/v1/providers/{}", created["id"].as_str().unwrap()),
            )
            .json(&json!({"area": "nowhere", "category": ""}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["area"].is_string() && body["error"]["fields"]["category"].is_string());
}

#[tokio::test]
async fn categories_are_data_the_admin_edits() {
    let w = world().await;
    let admin = Api::login(&w.server, "admin").await;
    let sup = Api::login(&w.server, "sup.vinh").await;
    let mgr = Api::login(&w.server, "mgr").await;

    let (status, list) = json_of(mgr.get("/api/v1/categories").send().await.unwrap()).await;
    assert_eq!(status, 200);
    let codes: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec![
            "vocational_training",
            "employment",
            "loan",
            "health_care",
            "counselling",
            "legal_aid",
            "social_assistance"
        ]
    );
    assert_eq!(list["items"][2]["name_vi"], "Vay vốn");
    assert_eq!(list["items"][2]["name_en"], "Loan");

    let unauthenticated = reqwest::get(w.server.url("/api/v1/categories")).await.unwrap();
    assert_eq!(unauthenticated.status(), 401);

    let housing = json!({"code": "housing", "name_vi": "Nhà ở", "name_en": "Housing"});
    let (status, _) = json_of(sup.post("/api/v1/categories", housing.clone()).send().await.unwrap()).await;
    assert_eq!(status, 403);
    let (status, created) = json_of(admin.post("/api/v1/categories", housing).send().await.unwrap()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["sort"], 8);
    assert_eq!(created["active"], true);
    let (status, renamed) = json_of(
        admin
            .post(
                "/api/v1/categories",
                json!({"code": "counselling", "name_vi": "Tham vấn tâm lý", "name_en": "Psychological counselling"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["name_vi"], "Tham vấn tâm lý");
    assert_eq!(renamed["sort"], 5);

    let (status, body) = json_of(
        admin
            .post(
                "/api/v1/categories",
                json!({"code": "Nhà ở", "name_vi": "", "name_en": "Housing"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["code"].is_string() && body["error"]["fields"]["name_vi"].is_string());

    // The new category is usable at once; a deactivated one takes no new providers.
    let (status, _) = json_of(
        admin
            .post(
                "/api/v1/providers",
                json!({"name": "Quỹ nhà ở", "category": "housing", "area": "412"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = json_of(
        admin
            .post(
                "/api/v1/categories",
                json!({"code": "housing", "name_vi": "Nhà ở", "name_en": "Housing", "active": false}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = json_of(
        admin
            .post(
                "/api/v1/providers",
                json!({"name": "Quỹ nhà ở 2", "category": "housing", "area": "412"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["category"].is_string());
}
