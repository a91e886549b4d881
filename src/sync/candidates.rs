//! The per-candidate reads of a run (#17): the full profile
//! (`/candidates/<id>`) and the action metrics
//! (`/candidates/<id>/action-metrics`) of the candidates the store says
//! changed (`store/candidates.rs`: new, or named by an action since their
//! last read), after `/candidates` and `/actions` were read. On a night
//! without new candidates or views this costs no request.

use futures_util::stream::{self, StreamExt};

use super::run::Run;
use super::SyncError;
use crate::api::ApiError;
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
        let mut results = stream::iter(ids.into_iter().map(|id| async move {
            let profile = client.get(&format!("candidates/{id}"), &[]).await;
            let metrics = match &profile {
                Ok(_) => Some(
                    client
                        .get(&format!("candidates/{id}/action-metrics"), &[])
                        .await,
                ),
                Err(_) => None,
            };
            (id, profile, metrics)
        }))
        .buffer_unordered(self.opts.refresh_concurrency.max(1));
        let (mut first_err, mut ops, mut read) = (None, Vec::<Op>::new(), 0u64);
        while let Some((id, profile, metrics)) = results.next().await {
            let answers = match (profile, metrics) {
                (Ok(p), Some(Ok(m))) => Ok((p, m)),
                (Err(e), _) | (_, Some(Err(e))) => Err(e),
                (Ok(_), None) => continue,
            };
            match answers {
                Ok((p, m)) => {
                    flatten::candidate_profile(&p.body, self.t, &mut ops);
                    flatten::candidate_metrics(&id, &m.body, &mut ops);
                    read += 1;
                }
                Err(e) if e.status() == Some(404) => {}
                Err(e @ ApiError::Unauthorized { .. }) => return Err(e.into()),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
            if ops.len() >= 2000 {
                self.writer.apply(std::mem::take(&mut ops), None).await?;
            }
        }
        self.writer.apply(ops, None).await?;
        match first_err {
            Some(e) => Err(e.into()),
            None => Ok(read),
        }
    }
}
