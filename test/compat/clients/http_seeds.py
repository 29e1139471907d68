"""SAP, Akana and Royalti as their vendor documents describe the calls, written with requests (and PyJWT for Royalti)."""
import time

import requests
from _run import main


def sap_invite(given):
    # The documented example, with API Authentication (HTTP Basic, client id and secret).
    response = requests.post(
        f"{given['base_url']}/cps/invite/",
        auth=(given['client_id'], given['client_secret']),
        json={
            'inviteeEmail': given['email'],
            'inviteeFirstName': 'John',
            'inviteeLastName': 'Miller',
            'inviterName': 'Donna Moore',
            'footerText': 'Invitation footer sample text',
            'headerText': 'Invitation header sample text',
            'targetUrl': 'http://www.myserviceprovider.com/protected_home_page/',
            'sourceUrl': 'http://www.myserviceprovider.com/public_home_page/',
        },
        timeout=30,
    )
    return {'status': response.status_code, 'location': response.headers.get('Location'), 'body': response.json()}


def akana_login_and_invite(given):
    # A browser-like session: log in, keep the cookies, echo the CSRF cookie in X-Csrf-Token_{tenant}.
    session = requests.Session()
    login = session.post(f"{given['base_url']}/api/login", json={'email': given['login_email'], 'password': given['password']}, timeout=30)
    login.raise_for_status()
    tenant = login.json()['fedMemberID']
    csrf = session.cookies.get(f'Csrf-Token_{tenant}')
    response = session.post(
        f"{given['base_url']}/api/users/invitations",
        headers={'Accept': '*/*', f'X-Csrf-Token_{tenant}': csrf},
        json={'EmailAddresses': given['emails'], 'Message': 'You should join this awesome app management platform.'},
        timeout=30,
    )
    return {'cookies': sorted(session.cookies.keys()), 'status': response.status_code, 'body': response.json()}


def royalti_invite(given):
    import jwt

    now = int(time.time())
    claims = {'sub': given['sub'], 'workspaceId': given['workspace_id'], 'iat': now, 'exp': now + given.get('lifetime', 3600)}
    if given.get('no_exp'):
        del claims['exp']
    token = jwt.encode(claims, given['key'], algorithm='HS256')
    response = requests.post(
        f"{given['base_url']}/auth/invite",
        params={'workspaceId': given['workspace_id']},
        headers={'Authorization': f'Bearer {token}'},
        json={'email': given['email'], 'sendEmail': True, 'role': given.get('role'), 'firstName': 'John', 'lastName': 'Smith'},
        timeout=30,
    )
    return {'status': response.status_code, 'body': response.json()}


if __name__ == '__main__':
    main(
        {'sap-invite': sap_invite, 'akana-login-and-invite': akana_login_and_invite, 'royalti-invite': royalti_invite},
        ['requests', 'PyJWT'],
    )
