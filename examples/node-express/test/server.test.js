const request = require('supertest');
const app = require('../src/server');

test('health answers ok', async () => {
  const res = await request(app).get('/health');
  expect(res.body).toEqual({ ok: true });
});
