package konform;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;

import de.osci.osci12.OSCIException;
import de.osci.osci12.common.Constants;
import de.osci.osci12.common.DialogHandler;
import de.osci.osci12.messageparts.Attachment;
import de.osci.osci12.messageparts.Content;
import de.osci.osci12.messageparts.ContentContainer;
import de.osci.osci12.messageparts.EncryptedDataOSCI;
import de.osci.osci12.messagetypes.ExitDialog;
import de.osci.osci12.messagetypes.FetchDelivery;
import de.osci.osci12.messagetypes.GetMessageId;
import de.osci.osci12.messagetypes.InitDialog;
import de.osci.osci12.messagetypes.OSCIMessage;
import de.osci.osci12.messagetypes.ResponseToFetchDelivery;
import de.osci.osci12.messagetypes.ResponseToStoreDelivery;
import de.osci.osci12.messagetypes.StoreDelivery;
import de.osci.osci12.roles.Addressee;
import de.osci.osci12.roles.Intermed;
import de.osci.osci12.roles.Originator;
import de.osci.osci12.roles.Reader;
import de.osci.osci12.samples.impl.HttpTransport;
import de.osci.osci12.samples.impl.crypto.PKCS12Decrypter;
import de.osci.osci12.samples.impl.crypto.PKCS12Signer;

/**
 * konform's own driver of the Java OSCI-Bibliothek (public API only) for the FIM profile cases against
 * mock-osci with the konform test PKI. Usage: FimDriver URL PKI_OSCI_DIR MODE, MODE one of
 * ok | plain-container | two-containers | aes-cbc | foreign-addressee.
 * Prints "STORED <messageId>", "FETCHED <content>", "ATTACHMENT <name> <text>", "SIGNATURE <bool>" or
 * "REFUSED <OSCI code>".
 */
public class FimDriver
{
  static final String PIN = "123456";
  static final String FIM = "<xfd:G17000652 xmlns:xfd=\"urn:xoev-de:xfall:standard:fim-s17000652_1.4\">"
                            + "<F60000296>Lageplan.pdf</F60000296><F60000296>Ordnerliste.pdf</F60000296></xfd:G17000652>";

  static X509Certificate cert(Path dir, String name) throws Exception
  {
    return (X509Certificate)CertificateFactory.getInstance("X.509")
                                              .generateCertificate(Files.newInputStream(dir.resolve(name + ".cert.pem")));
  }

  /** A PKCS#12 keystore in memory from the PEM files, for the library's sample signer/decrypter. */
  static InputStream p12(Path dir, String name) throws Exception
  {
    String pem = new String(Files.readAllBytes(dir.resolve(name + ".key.pem")), StandardCharsets.US_ASCII);
    String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    PrivateKey key = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64)));
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry(name, key, PIN.toCharArray(), new Certificate[] { cert(dir, name) });
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ks.store(out, PIN.toCharArray());
    return new ByteArrayInputStream(out.toByteArray());
  }

  static Attachment attachment(String name, String text, String alg) throws Exception
  {
    return new Attachment(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), name, alg);
  }

  public static void main(String[] args) throws Exception
  {
    String url = args[0];
    Path dir = Paths.get(args[1]);
    String mode = args[2];
    Intermed intermed = new Intermed(null, cert(dir, "intermediary-cipher"), new java.net.URI(url));
    Originator sender = new Originator(new PKCS12Signer(p12(dir, "sender-signature"), PIN),
                                       new PKCS12Decrypter(p12(dir, "sender-cipher"), PIN));
    DialogHandler dh = new DialogHandler(sender, intermed, new HttpTransport());
    String alg = mode.equals("aes-cbc") ? Constants.SYMMETRIC_CIPHER_ALGORITHM_AES256 : Constants.SYMMETRIC_CIPHER_ALGORITHM_AES256_GCM;
    X509Certificate addresseeCert = mode.equals("foreign-addressee") ? cert(Paths.get(args[3]), "recipient-cipher") : cert(dir, "recipient-cipher");
    try
    {
      String messageId = new GetMessageId(dh).send().getMessageId();
      Addressee addressee = new Addressee(null, addresseeCert);
      StoreDelivery store = new StoreDelivery(dh, addressee, messageId);
      store.setSubject("Versammlungsanzeige");
      ContentContainer fim = new ContentContainer();
      fim.setRefID("FIM_DATA");
      fim.addContent(new Content(FIM));
      fim.addContent(new Content(attachment("Lageplan.pdf", "Lageplan", alg)));
      fim.addContent(new Content(attachment("Ordnerliste.pdf", "Ordnerliste", alg)));
      fim.sign(sender);
      if (mode.equals("plain-container"))
        store.addContentContainer(fim);
      else
      {
        EncryptedDataOSCI enc = new EncryptedDataOSCI(alg, fim);
        enc.encrypt(new Reader(addresseeCert));
        store.addEncryptedData(enc);
        if (mode.equals("two-containers"))
        {
          ContentContainer second = new ContentContainer();
          second.setRefID("SECOND");
          second.addContent(new Content("<more/>"));
          EncryptedDataOSCI enc2 = new EncryptedDataOSCI(alg, second);
          enc2.encrypt(new Reader(addresseeCert));
          store.addEncryptedData(enc2);
        }
      }
      ResponseToStoreDelivery stored = store.send();
      System.out.println("STORED " + stored.getFeedback()[0][1] + " " + stored.getMessageId());

      Originator recipient = new Originator(new PKCS12Signer(p12(dir, "recipient-signature"), PIN),
                                            new PKCS12Decrypter(p12(dir, "recipient-cipher"), PIN));
      DialogHandler rdh = new DialogHandler(recipient, intermed, new HttpTransport());
      new InitDialog(rdh).send();
      FetchDelivery fetch = new FetchDelivery(rdh);
      fetch.setSelectionMode(OSCIMessage.SELECT_BY_MESSAGE_ID);
      fetch.setSelectionRule(messageId);
      ResponseToFetchDelivery fetched = fetch.send();
      new ExitDialog(rdh).send();
      ContentContainer got = fetched.getEncryptedData()[0].decrypt(new Reader(new PKCS12Decrypter(p12(dir, "recipient-cipher"), PIN)));
      System.out.println("FETCHED " + got.getRefID() + " " + got.getContents()[0].getContentData());
      for (int i = 1; i < got.getContents().length; i++)
      {
        Attachment a = got.getContents()[i].getAttachment();
        System.out.println("ATTACHMENT " + a.getRefID() + " " + new String(a.getStream().readAllBytes(), StandardCharsets.UTF_8));
      }
      System.out.println("SIGNATURE " + got.checkAllSignatures());
    }
    catch (OSCIException e)
    {
      System.out.println("REFUSED " + e.getErrorCode());
    }
  }
}
