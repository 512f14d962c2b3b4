//! LPR fixings: seeded history, the fixing in force on a date, publishing.

use crate::support::spawn_app;
use serde_json::{Value, json};

#[actix_web::test]
async fn lpr_history_is_dated_data() {
    let app = spawn_app().await;
    let get = |path: String| {
        let app = &app;
        async move {
            let r = app.get(&path).await;
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // Newest first; the seed ends with the 2025-05-20 cut.
    let (s, page) = get("/v1/lpr?limit=2".into()).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["items"][0]["fixing_date"], "2025-05-20");
    assert_eq!(
        (
            page["items"][0]["tenor"].as_str(),
            page["items"][0]["rate"].as_str()
        ),
        (Some("1Y"), Some("3.00"))
    );
    assert_eq!(
        (
            page["items"][1]["tenor"].as_str(),
            page["items"][1]["rate"].as_str()
        ),
        (Some("5Y"), Some("3.50"))
    );
    // Walking every page sees each fixing once.
    let (mut seen, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/lpr?tenor=1Y&limit=4&cursor={c}"),
            None => "/v1/lpr?tenor=1Y&limit=4".into(),
        };
        let (_, page) = get(path).await;
        for f in page["items"].as_array().unwrap() {
            seen.push(f["fixing_date"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 15);
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "{seen:?}");
    // In force: the newest fixing on or before the date.
    let (_, f) = get("/v1/lpr/in-force?tenor=1Y&on=2024-12-01".into()).await;
    assert_eq!(
        (f["fixing_date"].as_str(), f["rate"].as_str()),
        (Some("2024-10-21"), Some("3.10"))
    );
    let (_, f) = get("/v1/lpr/in-force?tenor=5Y&on=2024-10-21".into()).await;
    assert_eq!(f["rate"], "3.60");
    assert_eq!(
        get("/v1/lpr/in-force?tenor=1Y&on=2019-08-19".into())
            .await
            .0,
        404
    );
    assert_eq!(get("/v1/lpr/in-force?tenor=3Y".into()).await.0, 400);

    // The operator's admin publishes the next fixing; it is then in force.
    let op = app.operator().await;
    let body = json!({"tenor": "1Y", "fixing_date": "2025-06-20", "rate": "3.00", "source": "全国银行间同业拆借中心 公告 2025-06-20"});
    let (s, b) = app.act(&op, "/v1/lpr", "lpr.publish", body.clone()).await;
    assert_eq!(s, 201, "{b}");
    assert!(b["fixing"]["ledger_seq"].as_i64().is_some());
    let (_, f) = get("/v1/lpr/in-force?tenor=1Y&on=2025-07-01".into()).await;
    assert_eq!(f["fixing_date"], "2025-06-20");
    // Never edited; never in the future; never by anyone else.
    let (s, _) = app
        .act(
            &op,
            "/v1/lpr",
            "lpr.publish",
            json!({"tenor": "1Y", "fixing_date": "2025-06-20", "rate": "2.00", "source": "x"}),
        )
        .await;
    assert_eq!(s, 409);
    let (s, b) = app
        .act(
            &op,
            "/v1/lpr",
            "lpr.publish",
            json!({"tenor": "5Y", "fixing_date": "2999-01-20", "rate": "3.50", "source": "x"}),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    let (s, _) = app
        .act(
            &op,
            "/v1/lpr",
            "lpr.publish",
            json!({"tenor": "5Y", "fixing_date": "2025-06-20", "rate": 3.5, "source": "x"}),
        )
        .await;
    assert_eq!(s, 422, "a rate is a decimal string, never a number");
    let viewer = app.staff(&op, "viewer").await;
    let (s, _) = app
        .act(
            &viewer,
            "/v1/lpr",
            "lpr.publish",
            json!({"tenor": "5Y", "fixing_date": "2025-06-20", "rate": "3.50", "source": "x"}),
        )
        .await;
    assert_eq!(s, 403);
}
