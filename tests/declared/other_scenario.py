"""The declared scenario the tests in this folder run against ``other_portal.py``
(``{target}``, ``{duration}`` and ``{load}`` are filled in by each test)."""

SCENARIO = """\
name: other-portal
seed: 5
target: {target}
duration: {duration}
population: {{size: 5000}}
load: {load}
http:
  headers: {{X-Api-Key: "{{env.PORTAL_API_KEY}}", X-Citizen: "{{citizen.cccd}}"}}
session:
  steps:
    - post: /api/v1/auth/token
      form: {{username: "{{citizen.cccd}}", password: "{{env.DVCLOAD_PASSCODE}}"}}
      expect: 200
      capture: {{token: "json:$.access_token", csrf: "cookie:csrftoken"}}
  headers: {{Authorization: "Bearer {{token}}", X-CSRF-Token: "{{csrf}}"}}
journeys:
  filing:
    steps:
      - get: /api/v1/thu-tuc
        capture: {{service: {{json: "$[*].ma", pick: random}}}}
      - think: {{min: 10ms, max: 50ms}}
      - post: /api/v1/ho-so
        json:
          ma_thu_tuc: "{{service}}"
          cccd: "{{citizen.cccd}}"
          ho_ten: "{{citizen.full_name}}"
        expect: 201
        capture: {{code: "json:$.ma_ho_so"}}
        check: {{"json:$.trang_thai": "moi"}}
        record: dossier
        tags: [write]
      - get: "/api/v1/ho-so/{{code}}?cccd={{citizen.cccd}}"
      - get: /bien-nhan/{{code}}
        check: {{"regex:id=\\"ma\\">([^<]+)<": "{{code}}"}}
  browse:
    steps:
      - get: /api/v1/thu-tuc
        check: {{"json:$[0].ma": "1.001"}}
mix:
  journeys: {{filing: 70, browse: 30}}
budgets:
  "*": ["p99 < 5s"]
  "tag:write": ["error_rate < 1%"]
"""

PY_SCENARIO = """\
name: other-portal-python
seed: 5
target: {target}
duration: {duration}
population: {{size: 5000}}
load: {load}
http:
  headers: {{X-Api-Key: "{{env.PORTAL_API_KEY}}", X-Citizen: "{{citizen.cccd}}"}}
journeys: {{module: {module}}}
mix:
  journeys: {{filing: 70, browse: 30}}
budgets:
  "*": ["p99 < 5s"]
  total: ["error_rate < 1%"]
"""
