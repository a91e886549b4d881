//! Action types (`actionType` of an Action object).
//!
//! The API adds types over time, so a type this crate does not know stays
//! representable as [`ActionType::Other`] and round-trips unchanged.

use std::fmt;

macro_rules! action_types {
    ($($variant:ident => $name:literal,)*) => {
        /// The `actionType` of an action.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum ActionType {
            $($variant,)*
            /// A type this version does not know, as the API spelled it.
            Other(String),
        }

        impl ActionType {
            /// Every known type, in declaration order.
            pub const KNOWN: &'static [ActionType] = &[$(ActionType::$variant,)*];

            /// The API's spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ActionType::$variant => $name,)*
                    ActionType::Other(s) => s,
                }
            }

            /// Reads the API's spelling; unknown text is kept as `Other`.
            pub fn parse(s: &str) -> ActionType {
                match s {
                    $($name => ActionType::$variant,)*
                    other => ActionType::Other(other.to_owned()),
                }
            }
        }
    };
}

action_types! {
    MemberCreated => "MEMBER_CREATED",
    // What happens to a member after joining.
    MemberUpdated => "MEMBER_UPDATED",
    MemberDeleted => "MEMBER_DELETED",
    MemberDeactivated => "MEMBER_DEACTIVATED",
    JobCreated => "JOB_CREATED",
    JobAdded => "JOB_ADDED",
    JobUpdated => "JOB_UPDATED",
    JobDeleted => "JOB_DELETED",
    JobMoved => "JOB_MOVED",
    JobApplicationDateSet => "JOB_APPLICATION_DATE_SET",
    JobFirstInterviewDateSet => "JOB_FIRST_INTERVIEW_DATE_SET",
    JobSecondInterviewDateSet => "JOB_SECOND_INTERVIEW_DATE_SET",
    JobOfferDateSet => "JOB_OFFER_DATE_SET",
    ActivityCreated => "ACTIVITY_CREATED",
    ActivityUpdated => "ACTIVITY_UPDATED",
    ActivityDeleted => "ACTIVITY_DELETED",
    NoteCreated => "NOTE_CREATED",
    NoteUpdated => "NOTE_UPDATED",
    NoteDeleted => "NOTE_DELETED",
    ContactCreated => "CONTACT_CREATED",
    ContactUpdated => "CONTACT_UPDATED",
    ContactDeleted => "CONTACT_DELETED",
    OrganizationCompanyCreated => "ORGANIZATION_COMPANY_CREATED",
    OrganizationCompanyUpdated => "ORGANIZATION_COMPANY_UPDATED",
    // Goals, documents and the employer portal.
    GoalCreated => "GOAL_CREATED",
    GoalUpdated => "GOAL_UPDATED",
    GoalEnrollmentCreated => "GOAL_ENROLLMENT_CREATED",
    GoalEnrollmentConcluded => "GOAL_ENROLLMENT_CONCLUDED",
    GoalProgressUpdated => "GOAL_PROGRESS_UPDATED",
    GoalProgressCompleted => "GOAL_PROGRESS_COMPLETED",
    GoalProgressIncomplete => "GOAL_PROGRESS_INCOMPLETE",
    GoalProgressInProgress => "GOAL_PROGRESS_IN_PROGRESS",
    GoalProgressUnenrolled => "GOAL_PROGRESS_UNENROLLED",
    DocumentCreated => "DOCUMENT_CREATED",
    DocumentUpdated => "DOCUMENT_UPDATED",
    DocumentDeleted => "DOCUMENT_DELETED",
    OrganizationEmployerRequestCreated => "ORGANIZATION_EMPLOYER_REQUEST_CREATED",
    OrganizationEmployerRequestVerified => "ORGANIZATION_EMPLOYER_REQUEST_VERIFIED",
    OrganizationEmployerRequestApproved => "ORGANIZATION_EMPLOYER_REQUEST_APPROVED",
    OrganizationEmployerRequestDeclined => "ORGANIZATION_EMPLOYER_REQUEST_DECLINED",
    OrganizationEmployerPartnershipCreated => "ORGANIZATION_EMPLOYER_PARTNERSHIP_CREATED",
    // Job posts and the talent portal.
    JobPostCreated => "JOB_POST_CREATED",
    JobPostUpdated => "JOB_POST_UPDATED",
    JobPostDeleted => "JOB_POST_DELETED",
    BulkJobPostUpdated => "BULK_JOB_POST_UPDATED",
    CandidateProfileViewed => "CANDIDATE_PROFILE_VIEWED",
    CandidateSearchRan => "CANDIDATE_SEARCH_RAN",
}

impl ActionType {
    /// An activity's action (created, updated, deleted, or a newer one of
    /// the `ACTIVITY_` family).
    pub fn is_activity(&self) -> bool {
        self.as_str().starts_with("ACTIVITY_")
    }
}

impl fmt::Display for ActionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for ActionType {
    fn from(s: &str) -> Self {
        ActionType::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_types_round_trip_and_unknown_ones_are_kept() {
        for t in ActionType::KNOWN {
            assert_eq!(&ActionType::parse(t.as_str()), t);
        }
        let new = ActionType::parse("GOAL_COMPLETED");
        assert_eq!(new, ActionType::Other("GOAL_COMPLETED".into()));
        assert_eq!(new.as_str(), "GOAL_COMPLETED");
        assert!(ActionType::parse("ACTIVITY_ARCHIVED").is_activity());
        assert!(!ActionType::JobMoved.is_activity());
    }
}
