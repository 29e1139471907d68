"""The published Quickbase client libraries, unpatched, against Usher's /db/<dbid>.

None of the four has an API_SendInvitation method; each is driven through its own request builder (the one its
public methods use), so the XML, headers and credentials on the wire are the library's.
"""
from urllib.parse import urlparse

from _run import main


def pyqb_password_then_ticket(given):
    import pyqb

    client = pyqb.Client(url=given['base_url'], database=given['dbid'])
    client.authenticate(given['username'], given['password'])  # API_Authenticate on /db/main
    # pyqb's private request method (name-mangled): it prefixes API_, adds the ticket and raises on errcode != 0.
    reply = client._Client__request('SendInvitation', given['dbid'], {'userid': given['userid'], 'apptoken': given['apptoken']})
    return {'ticket': bool(client.ticket), 'errcode': reply.find('errcode').text}


def pyqb_user_token(given):
    import pyqb

    client = pyqb.Client(url=given['base_url'], database=given['dbid'], user_token=given['usertoken'])
    reply = client._Client__request('SendInvitation', given['dbid'], {'userid': given['userid']})
    return {'errcode': reply.find('errcode').text}


def syncqb_password_then_ticket(given):
    from syncqb.xml_quickbase import XmlQuickbaseClient

    # realmhost is given because syncqb otherwise derives it by splitting base_url on 'https://'.
    client = XmlQuickbaseClient(
        credentials={'username': given['username'], 'password': given['password'], 'base_url': given['base_url'], 'realmhost': urlparse(given['base_url']).netloc},
        apptoken=given['apptoken'],
        database=given['dbid'],
    )  # authenticates in the constructor
    raw = client._request(f"{given['base_url']}/db/{given['dbid']}", client._build_xml({'userid': given['userid']}), 'SendInvitation', 'POST')
    reply = client._parse_xml(raw, required_fields=['errcode', 'errtext'])  # raises QuickbaseError on errcode != 0
    return {'ticket': bool(client.ticket), 'userid': client.user_id, **reply}


def pyintuition_password_then_ticket(given):
    from pyintuition.client import Intuition

    client = Intuition(given['base_url'], app_token=given['apptoken'])
    # Sends <ticket>None</ticket> and the app token twice along with the username and password.
    ticket = client.authenticate(given['username'], given['password'])
    reply = client._request(given['dbid'], 'API_SendInvitation', {'userid': given['userid']})
    return {'ticket': bool(ticket), 'errcode': reply['errcode'], 'errtext': reply['errtext']}


def quickbase_api_user_token(given):
    from quickbase_api import QuickbaseClient

    realm = urlparse(given['base_url']).netloc
    client = QuickbaseClient(realm, given['usertoken'])
    # The client builds legacy URLs as https://{realm}/db/{dbid}; the test server speaks plain HTTP, so its own legacy
    # transport (session with `Authorization: QB-USER-TOKEN …`, xmltodict body) is given Usher's http URL.
    body, status = client._lm.post(f"{given['base_url']}/db/{given['dbid']}", params={'a': 'API_SendInvitation'}, data={'userid': given['userid']})
    client._require_legacy_success(body, status, 'send invitation')  # raises QuickbaseAPIError on errcode != 0
    return {'legacy_url': client._legacy_url(given['dbid']), 'status': status, 'errcode': body['errcode'], 'errtext': body['errtext']}


if __name__ == '__main__':
    main(
        {
            'pyqb-password-then-ticket': pyqb_password_then_ticket,
            'pyqb-user-token': pyqb_user_token,
            'syncqb-password-then-ticket': syncqb_password_then_ticket,
            'pyintuition-password-then-ticket': pyintuition_password_then_ticket,
            'quickbase-api-user-token': quickbase_api_user_token,
        },
        ['pyqb', 'syncqb', 'pyintuition', 'quickbase-api', 'requests'],
    )
