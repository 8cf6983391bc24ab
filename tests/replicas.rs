//! Scale-out on PostgreSQL: three `gep-bot serve` processes share one database; 5,000 signed
//! deliveries (20% of them redeliveries, sent to another replica than the original) are spread
//! across them; one is killed with SIGKILL halfway. At the mock GitHub, every mesh issue is
//! labelled, none twice (but for the one call the killed replica may have had in flight).

mod common;

use common::serve;

use common::serve::KillOnDrop;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use gep_bot::machinery::store::PgStore;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const SECRET: &str = "replica-secret";

#[derive(Default, Clone)]
struct Calls(Arc<Mutex<HashMap<u64, u32>>>);

impl Respond for Calls {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let number = common::issue_number(request.url.path());
        *self.0.lock().unwrap().entry(number).or_insert(0) += 1;
        ResponseTemplate::new(200)
            .set_body_json(serde_json::json!([{ "name": "area/mesh" }]))
            .set_delay(Duration::from_millis(2))
    }
}

/// Sends deliveries `(id, issue, port)`, 32 at a time; returns the HTTP statuses.
async fn send_all(client: &reqwest::Client, deliveries: &[(String, u64, u16)]) -> Vec<u16> {
    let mut statuses = Vec::new();
    for chunk in deliveries.chunks(32) {
        let requests = chunk.iter().map(|(id, issue, port)| {
            let body = common::issue_body(*issue, "Service mesh: GAMMA routing", 7);
            serve::deliver(client, *port, SECRET, "issues", id, body)
        });
        statuses.extend(join_all(requests).await);
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_the_queue_and_one_killed_loses_and_repeats_nothing() {
    let Some(url) = common::postgres_url("three_replicas_share_the_queue") else {
        return;
    };
    let schema = common::unique_schema("replicas");
    PgStore::open_in_schema(&url, &schema)
        .await
        .expect("schema and migrations");
    let db = PgStore::url_in_schema(&url, &schema);

    let github = MockServer::start().await;
    let calls = Calls::default();
    Mock::given(method("POST"))
        .respond_with(calls.clone())
        .mount(&github)
        .await;
    let ports: Vec<u16> = (0..3).map(|_| serve::free_port()).collect();
    let mut replicas: Vec<KillOnDrop> = ports
        .iter()
        .map(|&p| {
            serve::command(p, &db, &github.uri(), SECRET)
                .env("GEP_BOT_LEASE_MS", "3000")
                .env("GEP_BOT_LOG", "warn")
                .spawn()
                .map(KillOnDrop)
                .unwrap()
        })
        .collect();
    let client = reqwest::Client::new();
    for &port in &ports {
        serve::wait_until_answers(&client, port, "/readyz").await;
    }

    // 4,000 issues; after every four deliveries, the first of them is delivered again elsewhere.
    let mut deliveries = Vec::new();
    for issue in 1..=4000u64 {
        let port = ports[(issue % 3) as usize];
        deliveries.push((format!("delivery-{issue}"), issue, port));
        if issue % 4 == 0 {
            let original = issue - 3;
            let elsewhere = ports[((original + 1) % 3) as usize];
            deliveries.push((format!("delivery-{original}"), original, elsewhere));
        }
    }
    assert_eq!(deliveries.len(), 5000);
    let (first_half, second_half) = deliveries.split_at(2500);
    let mut statuses = send_all(&client, first_half).await;
    replicas[0].0.kill().unwrap(); // SIGKILL, mid-work
    replicas[0].0.wait().unwrap();
    let survivors = [ports[1], ports[2]];
    let rerouted: Vec<_> = second_half
        .iter()
        .enumerate()
        .map(|(i, (id, issue, port))| {
            (
                id.clone(),
                *issue,
                if *port == ports[0] {
                    survivors[i % 2]
                } else {
                    *port
                },
            )
        })
        .collect();
    statuses.extend(send_all(&client, &rerouted).await);
    assert_eq!(statuses.iter().filter(|&&s| s == 202).count(), 4000);
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 1000);

    serve::wait_until_drained(&client, ports[1], Duration::from_secs(120)).await;
    assert_eq!(
        serve::metric(&client, ports[1], "gep_bot_jobs_dead").await,
        Some(0.0)
    );
    for replica in &mut replicas[1..] {
        replica.0.kill().unwrap();
        replica.0.wait().unwrap();
    }
    let per_issue = calls.0.lock().unwrap().clone();
    assert_eq!(per_issue.len(), 4000, "every issue labelled");
    assert!((1..=4000).all(|i| per_issue.contains_key(&i)));
    let repeated: Vec<_> = per_issue.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.len() <= 1 && repeated.iter().all(|(_, n)| **n == 2),
        "repeated: {repeated:?}"
    );
}
