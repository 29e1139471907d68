import { escapeXml } from '../xml';

/**
 * SendInvite as a web service, the way Mendix apps consumed App Services: a WSDL (document/literal, wrapped) with a
 * SOAP 1.1 and a SOAP 1.2 binding, served at `MENDIX_SOAP_PATH?wsdl`. Mendix's own WSDL for the Invite API is not
 * public, so the namespace is Usher's; requests are matched by element names only, so a client built from another
 * namespace is answered too.
 */
export const MENDIX_SOAP_PATH = '/ws/InviteAPI/1';
export const MENDIX_SOAP_NAMESPACE = 'urn:usher:mendix:InviteAPI:1';
export const SEND_INVITE_ACTION = `${MENDIX_SOAP_NAMESPACE}#SendInvite`;

/** The SendInvite parameters in the order the seed document lists them, all required strings. */
export const SEND_INVITE_PARAMETERS = ['EnvironmentUUID', 'EnvironmentPassword', 'InviteeEmailAddress', 'InviterEmailAddress', 'RoleUUID'] as const;

export function inviteApiWsdl(publicBaseUrl: string): string {
  const location = escapeXml(`${publicBaseUrl}${MENDIX_SOAP_PATH}`);
  const parameters = SEND_INVITE_PARAMETERS.map((name) => `            <xs:element name="${name}" type="xs:string"/>`).join('\n');
  const operation = (soap: string) => `    <wsdl:operation name="SendInvite">
      <${soap}:operation soapAction="${SEND_INVITE_ACTION}" style="document"/>
      <wsdl:input><${soap}:body use="literal"/></wsdl:input>
      <wsdl:output><${soap}:body use="literal"/></wsdl:output>
      <wsdl:fault name="InviteFault"><${soap}:fault name="InviteFault" use="literal"/></wsdl:fault>
    </wsdl:operation>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="InviteAPI" targetNamespace="${MENDIX_SOAP_NAMESPACE}"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="${MENDIX_SOAP_NAMESPACE}">
  <wsdl:documentation>Mendix AppCloud Invite API, version 1: SendInvite, served by Usher.</wsdl:documentation>
  <wsdl:types>
    <xs:schema targetNamespace="${MENDIX_SOAP_NAMESPACE}" elementFormDefault="qualified">
      <xs:element name="SendInvite">
        <xs:complexType>
          <xs:sequence>
${parameters}
          </xs:sequence>
        </xs:complexType>
      </xs:element>
      <xs:element name="SendInviteResponse">
        <xs:complexType>
          <xs:sequence/>
        </xs:complexType>
      </xs:element>
      <xs:element name="InviteFault">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="code" type="xs:string"/>
            <xs:element name="message" type="xs:string"/>
            <xs:element name="field" type="xs:string" minOccurs="0"/>
            <xs:element name="requestId" type="xs:string"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
    </xs:schema>
  </wsdl:types>
  <wsdl:message name="SendInviteRequest"><wsdl:part name="parameters" element="tns:SendInvite"/></wsdl:message>
  <wsdl:message name="SendInviteResponse"><wsdl:part name="parameters" element="tns:SendInviteResponse"/></wsdl:message>
  <wsdl:message name="InviteFault"><wsdl:part name="fault" element="tns:InviteFault"/></wsdl:message>
  <wsdl:portType name="InviteAPIPortType">
    <wsdl:operation name="SendInvite">
      <wsdl:input message="tns:SendInviteRequest"/>
      <wsdl:output message="tns:SendInviteResponse"/>
      <wsdl:fault name="InviteFault" message="tns:InviteFault"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="InviteAPISoap11" type="tns:InviteAPIPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
${operation('soap')}
  </wsdl:binding>
  <wsdl:binding name="InviteAPISoap12" type="tns:InviteAPIPortType">
    <soap12:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
${operation('soap12')}
  </wsdl:binding>
  <wsdl:service name="InviteAPI">
    <wsdl:port name="InviteAPISoap11" binding="tns:InviteAPISoap11"><soap:address location="${location}"/></wsdl:port>
    <wsdl:port name="InviteAPISoap12" binding="tns:InviteAPISoap12"><soap12:address location="${location}"/></wsdl:port>
  </wsdl:service>
</wsdl:definitions>
`;
}
