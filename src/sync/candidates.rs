//! The per-candidate reads of a run: the full profile
//! (`/candidates/<id>`) and the action metrics
//! (`/candidates/<id>/action-metrics`) of the candidates the store says
//! changed (`store/candidates.rs`: new, or named by an action since their
//! last read), after `/candidates` and `/actions` were read. On a night
//! without new candidates or views this costs no request.

use super::run::Run;
use super::SyncError;
use crate::api::Response;
use crate::flatten;
use crate::rows::Op;

impl Run<'_> {
    /// Reads the changed candidates' profiles and metrics; returns how many
    /// candidates were read. A 404 (the candidate went since the listing)
    /// is skipped: the next listing marks it removed.
    pub(super) async fn read_candidates(&self) -> Result<u64, SyncError> {
        let all = self.opts.full_refresh;
        let ids = self.writer.call(move |s| s.candidates_to_read(all)).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        tracing::info!("reading {} new or viewed candidates", ids.len());
        let client = self.client;
        let fetch = |id: String| async move {
            let answers = match client.get(&format!("candidates/{id}"), &[]).await {
                Ok(profile) => client
                    .get(&format!("candidates/{id}/action-metrics"), &[])
                    .await
                    .map(|metrics| (profile, metrics)),
                Err(e) => Err(e),
            };
            (id, answers)
        };
        let found = |id: &str, (p, m): (Response, Response), ops: &mut Vec<Op>| {
            flatten::candidate_profile(&p.body, self.t, ops);
            flatten::candidate_metrics(id, &m.body, ops);
        };
        let (read, err) = self.read_by_id(ids, fetch, found, |_, _| {}).await?;
        match err {
            Some(e) => Err(e.into()),
            None => Ok(read.len() as u64),
        }
    }
}
