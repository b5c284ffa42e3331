/**
 * The Tallyfy API client and OAuth: the only door to `shared/tallyfy`. See docs/tallyfy-client.md.
 * Names follow the API: templates are `checklists`, processes are `runs`.
 */
export { staticToken } from './auth.ts';
export {
  closeSharedDispatchers,
  createTallyfyClient,
  DEFAULT_BASE_URL,
  isAppManagementPath,
  type Query,
  type RequestOptions,
  sharedDispatcher,
  type TallyfyAuth,
  TallyfyClient,
  type TallyfyClientOptions,
  type TallyfyResponse,
  type TokenScope,
} from './client.ts';
export {
  formatRequestDate,
  parseTallyfyDate,
  parseTallyfyDateMs,
  tryParseTallyfyDate,
  tryParseTallyfyDateMs,
} from './dates.ts';
export {
  ACTION_CAP_RETRY_AFTER_MS,
  APP_SCOPE_HINT,
  type FieldErrors,
  type NetworkFailure,
  TALLYFY_ERROR_CODES,
  TallyfyAuthError,
  TallyfyDateError,
  TallyfyError,
  type TallyfyErrorCode,
  type TallyfyErrorKind,
  TallyfyForbiddenError,
  TallyfyNetworkError,
  TallyfyNotFoundError,
  TallyfyRateLimitError,
  TallyfyRequestError,
  TallyfyResponseError,
  TallyfyScopeError,
  TallyfyServerError,
  TallyfyValidationError,
  UNAUTHORIZED_HINT,
} from './errors.ts';
export {
  type AppUserTokenInput,
  type ClientCredentialsGrantInput,
  classifyGrantError,
  clientCredentialsGrant,
  type GrantCallOptions,
  type GrantType,
  mintAppUserToken,
  OAuthError,
  type OAuthErrorCode,
  type OAuthOptions,
  type PasswordGrantInput,
  passwordGrant,
  probeTokenEndpoint,
  type RefreshTokenGrantInput,
  refreshTokenGrant,
  resolveTokenUrl,
  type TokenEndpointProbe,
  type TokenSet,
  tallyfyOAuth,
  validatePersonalAccessToken,
} from './oauth.ts';
export {
  type LaunchRunInput,
  type RunFilters,
  TallyfyApi,
  type TaskFilters,
} from './operations.ts';
export {
  type RequestPacer,
  sharedOrgPacer,
  type TokenBucket,
  type TokenBucketOptions,
  tokenBucket,
} from './pacing.ts';
export { MAX_PER_PAGE, type PageOptions, Paginated, type TallyfyPage } from './pagination.ts';
export { type TallyfyApiPerOrgOptions, tallyfyApiPerOrg } from './per-org.ts';
export {
  isRateLimitDeferral,
  pagesWithRateLimitWaits,
  type WaitBudget,
  withRateLimitWaits,
} from './rate-limit-waits.ts';
export {
  type AttemptOutcome,
  backoffDelayMs,
  type ClientStats,
  DEFAULT_RETRY_POLICY,
  isIdempotent,
  parseRetryAfterMs,
  type RetryEvent,
  type RetryPolicy,
  type RetryReason,
  retryAfter,
} from './retry.ts';
export {
  checklistSchema,
  commentSchema,
  groupSchema,
  guestSchema,
  organizationSchema,
  runSchema,
  stepSchema,
  type TallyfyChecklist,
  type TallyfyComment,
  type TallyfyGroup,
  type TallyfyGuest,
  type TallyfyOrganization,
  type TallyfyRun,
  type TallyfyStep,
  type TallyfyTag,
  type TallyfyTask,
  type TallyfyTaskWithThreads,
  type TallyfyUser,
  type TallyfyWatcher,
  tagSchema,
  taskSchema,
  taskWithThreadsSchema,
  userSchema,
  watcherSchema,
} from './schemas.ts';
export { DEFAULT_TOKEN_URL, defaultTokenUrl, KNOWN_API_HOSTS } from './token-url.ts';
