/** The headers every usage read answers with (Swagger). */
export const DATA_SOURCE_HEADERS = {
  'X-Data-Source': {
    description: 'bridge, cache, snapshot, database or default',
    schema: { type: 'string' },
  },
  'X-Data-Age': {
    description:
      'Seconds since the bridge produced the data (absent when it comes from the bridge now)',
    schema: { type: 'integer' },
  },
};
