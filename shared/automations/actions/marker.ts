/**
 * How an action's marker (`actionMarker(key)`, `tsf-<16 hex>`) is written into what it creates,
 * so that an attempt in doubt can find its own earlier effect.
 */

/** The line that carries the marker in a comment or a run summary: `[automation tsf-…]`. */
export const markerTag = (marker: string): string => `[automation ${marker}]`;

/** A run name ends with its marker, the part Tallyfy's run search (`q`) looks at. */
export const markerNameSuffix = (marker: string): string => ` [${marker}]`;
