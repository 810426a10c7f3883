/** Whether the service can answer clicks yet: /check and the click route ask. */
export interface Readiness {
  /** Why not, for people reading /check; undefined once it can. */
  notReadyBecause(): string | undefined;
}
