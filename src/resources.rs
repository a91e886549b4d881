//! The Org API resources huntr-sync extracts, as data.
//!
//! Each resource says where it lives and how it is read; one generic fetcher
//! and one request policy serve them all (no extractor has its own loop).

use std::fmt;
use std::str::FromStr;

use crate::schema::{tables, TableId};

/// How a resource is read on every run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Listed in full; the destination mirrors the listing.
    Listed,
    /// Read through `created_after` / `created_before` windows.
    Windowed,
    /// Deprecated `/events`: newest first with no creation filter; read
    /// until past the window.
    Feed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    ActivityCategories,
    MemberFields,
    BoardTemplates,
    OrganizationInvitations,
    Members,
    Employers,
    Jobs,
    Activities,
    Actions,
    // Goals.
    Goals,
    // Job posts and candidates (the employer portal).
    JobPosts,
    Candidates,
    // Endpoints the vendor's newer reference adds, all optional.
    Advisors,
    MemberGroups,
    Tags,
    MemberNotes,
    Events,
}

impl Resource {
    pub const ALL: [Resource; 17] = [
        Resource::ActivityCategories,
        Resource::MemberFields,
        Resource::BoardTemplates,
        Resource::OrganizationInvitations,
        Resource::Members,
        Resource::Employers,
        Resource::Jobs,
        Resource::Activities,
        Resource::Actions,
        Resource::Goals,
        Resource::JobPosts,
        Resource::Candidates,
        Resource::Advisors,
        Resource::MemberGroups,
        Resource::Tags,
        Resource::MemberNotes,
        Resource::Events,
    ];

    /// The endpoint path under the base URL, which is also the name users
    /// give in `--resources`.
    pub fn path(self) -> &'static str {
        match self {
            Resource::ActivityCategories => "activity-categories",
            Resource::MemberFields => "member-fields",
            Resource::BoardTemplates => "board-templates",
            Resource::OrganizationInvitations => "organization-invitations",
            Resource::Members => "members",
            Resource::Employers => "employers",
            Resource::Jobs => "jobs",
            Resource::Activities => "activities",
            Resource::Actions => "actions",
            Resource::Goals => "goals",
            Resource::JobPosts => "job-posts",
            Resource::Candidates => "candidates",
            Resource::Advisors => "advisors",
            Resource::MemberGroups => "member-groups",
            Resource::Tags => "tags",
            Resource::MemberNotes => "notes/members",
            Resource::Events => "events",
        }
    }

    /// The table the resource's own endpoint is the authority for.
    pub fn table(self) -> TableId {
        match self {
            Resource::ActivityCategories => tables::activity_categories::TABLE,
            Resource::MemberFields => tables::member_fields::TABLE,
            Resource::BoardTemplates => tables::board_templates::TABLE,
            Resource::OrganizationInvitations => tables::organization_invitations::TABLE,
            Resource::Members => tables::members::TABLE,
            Resource::Employers => tables::employers::TABLE,
            Resource::Jobs => tables::jobs::TABLE,
            Resource::Activities => tables::activities::TABLE,
            Resource::Actions => tables::actions::TABLE,
            Resource::Goals => tables::goals::TABLE,
            Resource::JobPosts => tables::job_posts::TABLE,
            Resource::Candidates => tables::candidates::TABLE,
            Resource::Advisors => tables::advisors::TABLE,
            Resource::MemberGroups => tables::member_groups::TABLE,
            Resource::Tags => tables::tags::TABLE,
            Resource::MemberNotes => tables::member_notes::TABLE,
            Resource::Events => tables::events::TABLE,
        }
    }

    pub fn kind(self) -> Kind {
        match self {
            Resource::Jobs | Resource::Activities | Resource::Actions => Kind::Windowed,
            Resource::Events => Kind::Feed,
            _ => Kind::Listed,
        }
    }

    /// Endpoints documented without `limit`/`next`: one request answers all.
    pub fn paged(self) -> bool {
        !matches!(
            self,
            Resource::MemberFields
                | Resource::BoardTemplates
                | Resource::OrganizationInvitations
                | Resource::ActivityCategories
                | Resource::Goals
                | Resource::MemberGroups
                | Resource::Tags
        )
    }

    /// Endpoints newer than the reference huntr-sync was first built from:
    /// an organization's API may not serve them (a product it has
    /// not bought, such as the talent portal's candidates, or an older
    /// API). A 404 or 403 skips the resource with a warning, recorded in
    /// the run, and the run stays complete.
    pub fn optional(self) -> bool {
        matches!(
            self,
            Resource::Goals
                | Resource::JobPosts
                | Resource::Candidates
                | Resource::Advisors
                | Resource::MemberGroups
                | Resource::Tags
                | Resource::MemberNotes
        )
    }

    /// Listings the API also reports every change of as an action
    /// (JOB_POST_* and BULK_JOB_POST_UPDATED; GOAL_*, whose progress
    /// actions also mark the start of each goal interval). When `actions`
    /// is read in the same run, such a listing is read only after an
    /// action announced a change since its last listing (see
    /// [`Resource::announced_by`]), or when that listing is older than
    /// [`crate::defaults::RELIST_DAYS`]: a quiet night costs no request.
    pub fn followed_by_actions(self) -> bool {
        matches!(self, Resource::JobPosts | Resource::Goals)
    }

    /// The listing an action of this type announces a change of.
    pub fn announced_by(action_type: &huntr_protocol::ActionType) -> Option<Resource> {
        use huntr_protocol::ActionType as A;
        match action_type {
            A::JobPostCreated | A::JobPostUpdated | A::JobPostDeleted | A::BulkJobPostUpdated => {
                Some(Resource::JobPosts)
            }
            t if t.as_str().starts_with("GOAL_") => Some(Resource::Goals),
            _ => None,
        }
    }

    /// Query parameters the resource is always read with: `/goals` lists
    /// only active goals unless asked for the inactive ones too.
    pub fn query(self) -> Vec<(&'static str, String)> {
        match self {
            Resource::Goals => vec![("includeInactive", "true".to_owned())],
            _ => Vec::new(),
        }
    }

    /// Endpoints answering a bare JSON array (no `data`, no `next`).
    pub fn bare(self) -> bool {
        matches!(self, Resource::Tags)
    }

    /// The name users give in `--resources` besides the path: the table's
    /// (`member_notes` for `notes/members`).
    fn table_name(self) -> &'static str {
        &crate::schema::SCHEMA.table(self.table()).name
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

impl FromStr for Resource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let norm = s.trim().replace('_', "-");
        Resource::ALL
            .into_iter()
            .find(|r| r.path() == norm || r.table_name().replace('_', "-") == norm)
            .ok_or_else(|| {
                let names: Vec<_> = Resource::ALL.iter().map(|r| r.path()).collect();
                format!("unknown resource `{s}` (known: {})", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_tables_exist() {
        for r in Resource::ALL {
            assert_eq!(r.path().parse::<Resource>().unwrap(), r);
            let table = crate::schema::SCHEMA.tables.get(r.table());
            assert!(table.is_some());
            // The generated ids name the tables the endpoints feed.
            if r != Resource::MemberNotes {
                assert_eq!(table.unwrap().name, r.path().replace('-', "_"));
            }
            assert_eq!(r.table_name().parse::<Resource>().unwrap(), r);
        }
        assert_eq!(
            "member_fields".parse::<Resource>().unwrap(),
            Resource::MemberFields
        );
        assert_eq!(
            "member_notes".parse::<Resource>().unwrap(),
            Resource::MemberNotes
        );
        assert!("widgets"
            .parse::<Resource>()
            .unwrap_err()
            .contains("known: "));
    }
}
