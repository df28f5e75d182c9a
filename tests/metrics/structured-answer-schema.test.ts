import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkJsonSchema } from '../../lib/llm/json-schema.js';
import { structuredAnswerSchema } from '../../lib/metrics/structured-answer-schema.js';

test('the study 001 answer schema: risk_level from its labels, components with component and match', () => {
  const schema = structuredAnswerSchema({
    fields: [{ field: 'risk_level', labels: ['높음', '애매', '낮음'] }],
    lists: [{ list: 'components', item: 'match', key: 'component', labels: ['대응', '판단불가', '미대응'] }],
  });
  checkJsonSchema(schema, 'schema.json');
  assert.deepEqual(JSON.parse(JSON.stringify(schema)), {
    type: 'object',
    properties: {
      risk_level: { type: 'string', enum: ['높음', '애매', '낮음'] },
      components: {
        type: 'array',
        items: {
          type: 'object',
          properties: { component: { type: 'string' }, match: { type: 'string', enum: ['대응', '판단불가', '미대응'] } },
          required: ['component', 'match'],
          additionalProperties: false,
        },
      },
    },
    required: ['risk_level', 'components'],
    additionalProperties: false,
  });
});

test('dot paths nest objects; a field without labels is any string', () => {
  const schema = structuredAnswerSchema({ fields: [{ field: 'result.risk' }, { field: 'result.note', labels: [] }] });
  checkJsonSchema(schema, 'schema.json');
  const result = (schema.properties as Record<string, { properties: unknown; required: string[] }>).result;
  assert.deepEqual(JSON.parse(JSON.stringify(result.properties)), { risk: { type: 'string' }, note: { type: 'string' } });
  assert.deepEqual(result.required, ['risk', 'note']);
  assert.deepEqual(schema.required, ['result']);
});
