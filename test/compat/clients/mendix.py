"""zeep, the SOAP client, against the WSDL Usher serves for Mendix's Invite API: SendInvite over SOAP 1.1 or 1.2."""
from _run import main

NAMESPACE = '{urn:usher:mendix:InviteAPI:1}'


def send_invite(given):
    from zeep import Client
    from zeep.exceptions import Fault

    client = Client(f"{given['base_url']}/ws/InviteAPI/1?wsdl")
    service = client.bind('InviteAPI', 'InviteAPISoap12') if given.get('soap') == '1.2' else client.service
    try:
        return {'returned': service.SendInvite(**given['params'])}
    except Fault as fault:
        detail = {child.tag.replace(NAMESPACE, ''): child.text for child in fault.detail.find(f'{NAMESPACE}InviteFault')}
        return {'fault': {'code': fault.code, 'message': fault.message, 'detail': detail}}


if __name__ == '__main__':
    main({'send-invite': send_invite}, ['zeep', 'requests'])
