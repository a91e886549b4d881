//! Reading records one by one (`GET /<resource>/<id>`), for what a listing
//! cannot give or a change capture names: changed jobs, new or viewed
//! candidates. A few requests are in flight at once; rows go to the writer
//! in batches; a 404 (the record went since it was named) is the caller's
//! to record; a refused token ends the reading at once, and the first of
//! any other errors is handed back with what was read.

use std::future::Future;

use futures_util::stream::{self, StreamExt};

use super::run::Run;
use super::SyncError;
use crate::api::ApiError;
use crate::defaults::FLUSH_OPS;
use crate::rows::Op;

impl Run<'_> {
    /// Fetches each of `ids` with `fetch`, flattens each answer with
    /// `found` and each 404 with `gone`; returns the ids answered and the
    /// first error, if any, once every id was tried.
    pub(super) async fn read_by_id<A, Fut>(
        &self,
        ids: Vec<String>,
        fetch: impl Fn(String) -> Fut,
        mut found: impl FnMut(&str, A, &mut Vec<Op>),
        mut gone: impl FnMut(String, &mut Vec<Op>),
    ) -> Result<(Vec<String>, Option<ApiError>), SyncError>
    where
        Fut: Future<Output = (String, Result<A, ApiError>)>,
    {
        let mut results = stream::iter(ids.into_iter().map(fetch))
            .buffer_unordered(self.opts.refresh_concurrency.max(1));
        let (mut first_err, mut ops, mut read) = (None, Vec::new(), Vec::new());
        while let Some((id, answer)) = results.next().await {
            match answer {
                Ok(a) => {
                    found(&id, a, &mut ops);
                    read.push(id);
                }
                Err(e) if e.status() == Some(404) => gone(id, &mut ops),
                Err(e @ ApiError::Unauthorized { .. }) => return Err(e.into()),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
            if ops.len() >= FLUSH_OPS {
                self.writer.apply(std::mem::take(&mut ops), None).await?;
            }
        }
        self.writer.apply(ops, None).await?;
        Ok((read, first_err))
    }
}
