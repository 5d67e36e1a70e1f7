/** The SELECT list and FROM of BuildRow: the build with its team, pipeline and job names. */
export const BUILD_COLUMNS = `
  b.id, b.team_id, t.name AS team_name, b.pipeline_id, p.name AS pipeline_name, b.job_id,
  j.name AS job_name, b.name, b.status, b.plan, b.manually_triggered, b.created_by, b.rerun_of,
  (SELECT o.name FROM builds o WHERE o.id = b.rerun_of) AS rerun_of_name, b.created_at,
  b.start_time, b.end_time, b.lease_owner, b.lease_expires_at, b.abort_requested`;

export const BUILD_FROM = `
  builds b
  JOIN teams t ON t.id = b.team_id
  LEFT JOIN pipelines p ON p.id = b.pipeline_id
  LEFT JOIN jobs j ON j.id = b.job_id`;
