/**
 * How a report shows identifier values:
 * - `mask` (the default): labels ("IMEI #1") in captured traffic, masked values ("86…564") in
 *   findings — nothing a passer-by can copy, enough for the owner to recognise;
 * - `reveal` (`--reveal`): the values themselves, highlighted;
 * - `redact` (`phonehome report --redact`): labels everywhere, for a copy safe to attach.
 */
export type ShowMode = 'mask' | 'reveal' | 'redact';
