"""The web dashboard and the JSON API (`fides web`, docs/web.md).

    queries   every SQL statement of the web part, named
    data      what each view shows, read from PostgreSQL as plain dicts (pages and API share it)
    privacy   NIR masking (never a whole NIR on a page or in the API)
    charts    inline SVG charts drawn on the server
    html      escaping, French formats, the page frame and style sheet
    pages     the dashboard's pages (French UI), no script
    api       the JSON API and its OpenAPI 3 description
    actions   MANAGEREJECT A/C from a button, through the same code as the flow
    auth      token, signed sessions naming the user, CSRF
    app       the WSGI application: routes, authentication, security headers
    pool      database connections shared by the server threads
    server    the threaded wsgiref server (`start`, `Running.stop`)
"""
